// Issue 16, the offline provider's grounded answers, unit by unit: the sentence splitter (item 4), the question's answer
// kind and span (item 1), morphology (item 1) and the calibrated answer threshold (item 2).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { passagesOf, splitProse } from '../src/model/extractive/sentences.js';
import { holdsNewSpan, questionTypeOf, typedWordsOf, type AnswerKind } from '../src/model/extractive/question-type.js';
import { contentTermsOf, wordsOf, wordTermsOf } from '../src/model/extractive/terms.js';
import { answerFromChunks } from '../src/model/extractive/answer.js';
import { chooseAnswer, FEATURE_NAMES, type AnswerModel } from '../src/model/extractive/answer-model.js';
import { candidatesFor } from '../src/model/extractive/support.js';
import type { RetrievedChunk } from '../src/retrieval/types.js';

const texts = (text: string): string[] => passagesOf(text).map((passage) => passage.text);

describe('sentence splitting (issue 16 item 4)', () => {
  test('an abbreviation such as "c." or "e.g." does not end a sentence', () => {
    assert.deepEqual(splitProse('Its share fell to c. 6 % of exports. Prices rose, e.g. Oil doubled. Then it ended.'), [
      'Its share fell to c. 6 % of exports.',
      'Prices rose, e.g. Oil doubled.',
      'Then it ended.',
    ]);
  });

  test('initials and dotted acronyms do not end a sentence', () => {
    assert.deepEqual(splitProse('J. R. R. Tolkien served in the U.S. Army in France. He wrote books.'), [
      'J. R. R. Tolkien served in the U.S. Army in France.',
      'He wrote books.',
    ]);
  });

  test('a decimal point, a price or a version number never ends a sentence', () => {
    assert.deepEqual(splitProse('Decaf may hold 0.1% caffeine. It costs €9.50 in version 2.4.1 of the list. Prices rose 3.5 times.'), [
      'Decaf may hold 0.1% caffeine.',
      'It costs €9.50 in version 2.4.1 of the list.',
      'Prices rose 3.5 times.',
    ]);
  });

  test('a line that starts in lower case continues the line before (a PDF text layer keeps its wrapped lines)', () => {
    assert.deepEqual(texts('Descaling guide\nUse a citric-acid descaler; vinegar can damage\nthe seals. Run half of the solution\nthrough the steam wand.\nRinse the tank twice before brewing.'), [
      'Use a citric-acid descaler; vinegar can damage the seals.',
      'Run half of the solution through the steam wand.',
      'Rinse the tank twice before brewing.',
    ]);
  });

  test('a heading asked as a question ends at its question mark, and prose after a list resumes at "Do not …"', () => {
    const passages = passagesOf('## Do I need an account? You can order as a guest. ## What you need - A soft brush - A dry cloth Do not grind rice to clean the burrs.');
    assert.deepEqual(
      passages.map((passage) => [passage.heading, passage.answer]),
      [
        ['Do I need an account?', 'You can order as a guest.'],
        ['What you need', 'Do not grind rice to clean the burrs.'],
        ['What you need', 'What you need: A soft brush; A dry cloth'],
      ],
    );
  });

  test('a list item is answered under its heading, which says what the item is ("not covered"), unless it repeats it', () => {
    const passages = passagesOf('## What the warranty does not cover - Normal wear of seals and gaskets. - Limescale damage from machines that were never descaled. ## Minimum order - Minimum order: 10 kg per order.');
    assert.deepEqual(
      passages.map((passage) => [passage.text, passage.answer]),
      [
        ['Normal wear of seals and gaskets.', 'What the warranty does not cover: Normal wear of seals and gaskets.'],
        ['Limescale damage from machines that were never descaled.', 'What the warranty does not cover: Limescale damage from machines that were never descaled.'],
        ['Minimum order: 10 kg per order.', 'Minimum order: 10 kg per order.'],
      ],
    );
  });

  test('list items that lost their line breaks are separate units read under their heading, and a list of fragments is read whole', () => {
    const chunk = '# Payment methods All prices are in euros. ## Accepted methods - iDEAL (Netherlands) - PayPal - Apple Pay and Google Pay We do not accept cash or cheques. ## Failed payments If a payment fails, we try again after 24 hours.';
    const passages = passagesOf(chunk);
    assert.deepEqual(
      passages.map((passage) => passage.text),
      [
        'All prices are in euros.',
        'Apple Pay and Google Pay',
        'We do not accept cash or cheques.',
        'Accepted methods: iDEAL (Netherlands); PayPal; Apple Pay and Google Pay',
        'If a payment fails, we try again after 24 hours.',
      ],
    );
    assert.equal(passages[1]?.answer, 'Accepted methods: Apple Pay and Google Pay');
    assert.equal(passages.at(-1)?.heading, 'Failed payments');
  });

  test('numbered steps, links and emphasis: each step a unit under its heading, the steps read whole as the procedure, link text kept, markup dropped', () => {
    const passages = passagesOf('## How to return 1. Log in to **your account** first. 2. Choose the [order page](https://x.example/o) and the items.');
    assert.deepEqual(
      passages.map((passage) => [passage.answer, passage.procedure]),
      [
        ['How to return: Log in to your account first.', false],
        ['How to return: Choose the order page and the items.', false],
        ['How to return: Log in to your account first; Choose the order page and the items', true],
      ],
    );
    assert.deepEqual(passages[1]?.links, ['order page']);
  });

  test('a heading that runs into an imperative first sentence ends at its capital ("## Pause Choose **Pause** to …")', () => {
    const passages = passagesOf('## Pause Choose **Pause** to stop deliveries for 2 weeks. The longest pause is 3 months. ## Cancel Choose **Cancel** and confirm.');
    assert.deepEqual(
      passages.map((passage) => [passage.heading, passage.text]),
      [
        ['Pause', 'Choose Pause to stop deliveries for 2 weeks.'],
        ['Pause', 'The longest pause is 3 months.'],
        ['Cancel', 'Choose Cancel and confirm.'],
      ],
    );
  });

  test('a markdown table row is read with its column headers', () => {
    assert.deepEqual(texts('| Country | Carrier | Cost |\n|---|---|---|\n| Germany | DHL | €6.90 |'), ['Germany — Carrier: DHL; Cost: €6.90']);
  });
});

describe('question kinds and answer spans (issue 16 item 1)', () => {
  test('who, when / what year, how many / how much and where ask for a name, a date, a number and a place', () => {
    assert.equal(questionTypeOf('Who wrote the treaty?').kind, 'person');
    assert.equal(questionTypeOf('In what year were the rule changes introduced?').kind, 'date');
    assert.equal(questionTypeOf('When is support open?').kind, 'date');
    assert.equal(questionTypeOf('How many business days until my refund is paid?').kind, 'number');
    assert.equal(questionTypeOf('How much does express delivery cost?').kind, 'number');
    assert.equal(questionTypeOf('Where did the Normans settle?').kind, 'place');
    assert.equal(questionTypeOf('Which payment methods do you accept?').kind, 'any');
    assert.ok(questionTypeOf('In what year were the rule changes introduced?').focusTerms.has('year'));
  });

  test('the noun of the kind may follow a verb and a determiner ("What is your phone number?", "What was the population …")', () => {
    assert.equal(questionTypeOf('What is your phone number?').kind, 'number');
    assert.ok(questionTypeOf('What is your phone number?').focusTerms.has('number'));
    assert.equal(questionTypeOf('What was the population of Warsaw in 1939?').kind, 'number');
    assert.equal(questionTypeOf('What is the capital city of Poland?').kind, 'place');
  });

  test('"how long does it take": the verb frames the duration, the answer need not repeat it', () => {
    const type = questionTypeOf('How long does shipping to Germany take?');
    assert.equal(type.kind, 'number');
    assert.ok(type.focusTerms.has('take'));
    assert.equal(questionTypeOf('Who took the photograph?').focusTerms.has('take'), false);
  });

  test('"how do I …" asks for an instruction: an imperative, "you can …" or "to …, do …", not a statement or a gerund', () => {
    assert.equal(questionTypeOf('How do I cancel my subscription?').kind, 'procedure');
    assert.equal(questionTypeOf('How to change my address?').kind, 'procedure');
    assert.equal(questionTypeOf('How did the Normans settle?').kind, 'any');
    const instruction = (text: string): boolean => holdsNewSpan(typedWordsOf(wordTermsOf(text), 'procedure'), new Set(wordsOf('How do I cancel my subscription?')));
    assert.equal(instruction('Choose Cancel subscription and confirm.'), true);
    assert.equal(instruction('Log in and go to Account details.'), true);
    assert.equal(instruction('You can cancel at any time.'), true);
    assert.equal(instruction('To cancel, write to support@brightbean.example.'), true);
    assert.equal(instruction('If you cancel, the subscription discount stops.'), false);
    assert.equal(instruction('Resetting your password unlocks it straight away.'), false);
    assert.equal(instruction('The subscription has no minimum term.'), false);
  });

  test('a capitalised weekday or month is a date, never a name or a place', () => {
    const typed = (kind: AnswerKind, text: string): string[] => typedWordsOf(wordTermsOf(text), kind).filter((word) => word.typed).map((word) => word.raw);
    assert.deepEqual(typed('place', 'The shop in Utrecht is open on Saturdays and in December.'), ['Utrecht']);
    assert.deepEqual(typed('date', 'The shop in Utrecht is open on Saturdays and in December.'), ['Saturdays', 'December']);
  });

  test('a sentence without a span of the asked kind, new to the question, cannot answer it', () => {
    const hasAnswerSpan = (kind: AnswerKind, sentence: string, asked: string): boolean => holdsNewSpan(typedWordsOf(wordTermsOf(sentence), kind), new Set(wordsOf(asked)));
    const question = 'In what year were the rule changes introduced?';
    assert.equal(hasAnswerSpan('date', 'The rule changes were introduced to reduce costs.', question), false);
    assert.equal(hasAnswerSpan('date', 'The rule changes were introduced in 1973.', question), true);
    assert.equal(hasAnswerSpan('number', 'We refund within 5 business days.', 'How many business days until my refund?'), true);
    assert.equal(hasAnswerSpan('number', 'We refund within a few business days.', 'How many business days until my refund?'), false);
    assert.equal(hasAnswerSpan('person', 'The treaty was written by Thomas Jefferson.', 'Who wrote the treaty?'), true);
    assert.equal(hasAnswerSpan('person', 'The treaty was written in haste.', 'Who wrote the treaty?'), false);
    // A list item's number counts steps, it states no quantity (the bundled corpus's tracking steps answered a duration).
    assert.equal(hasAnswerSpan('number', '5. Delivered – the carrier has confirmed delivery.', 'How long does delivery take?'), false);
    assert.equal(hasAnswerSpan('number', 'Delivery takes 2 business days.', 'How long does delivery take?'), true);
    assert.equal(hasAnswerSpan('number', '12 bags fit in one box.', 'How many bags fit in a box?'), true);
  });
});

describe('answer-type agreement and near-miss evidence (issue 16 item 1)', () => {
  const chunkOf = (text: string, id = 'doc#0'): RetrievedChunk => ({ chunkId: id, documentId: id.split('#')[0] ?? id, documentVersion: 1, collection: 'help', title: 'History', text, score: 0.6 });
  const featuresOf = (question: string, text: string) => {
    const [candidate] = candidatesFor(question, [chunkOf(text)]);
    assert.ok(candidate, `${question} / ${text}`);
    return candidate.features;
  };

  test('a date, a number, a name: typed words, "may" only as a capitalised month, a number with its time unit', () => {
    const typed = (kind: Parameters<typeof typedWordsOf>[1], text: string): string[] => typedWordsOf(wordTermsOf(text), kind).filter((word) => word.typed).map((word) => word.raw);
    assert.deepEqual(typed('date', 'It may arrive within 3 business days, or in May 2024.'), ['3', 'business', 'days', 'May', '2024']);
    assert.deepEqual(typed('number', 'It costs €6.90 for two bags.'), ['6', '90', 'two']);
    assert.deepEqual(typed('person', 'The treaty was signed by Thomas Jefferson.'), ['Thomas', 'Jefferson']);
  });

  test('the span of the asked kind must sit next to the matched question terms, not anywhere in the sentence', () => {
    const near = featuresOf('When did the treaty come into force?', 'The treaty came into force in 1953 after a long debate among the members.');
    const far = featuresOf('When did the treaty come into force?', 'The treaty came into force after a long debate among the members of the council founded in 1953.');
    assert.equal(near.typedSpan, 1);
    assert.equal(far.typedSpan, 1);
    assert.ok(near.spanNearTerms > far.spanNearTerms, `${near.spanNearTerms} > ${far.spanNearTerms}`);
  });

  test('"no" inside an e-mail address or a URL is not a negation ("no-reply@…")', () => {
    assert.equal(featuresOf('How do I reset my password?', 'Open the e-mail from no-reply@brightbean.example to reset your password.').negationMismatch, 0);
    assert.equal(featuresOf('How do I reset my password?', 'You cannot reset your password from https://x.example/no-access yet.').negationMismatch, 1);
  });

  test('a negation in the question the sentence lacks, and a rare question term the sentence lacks, are evidence against', () => {
    assert.equal(featuresOf('Which members did not sign the treaty?', 'Six members signed the treaty in 1953.').negationMismatch, 1);
    assert.equal(featuresOf('Which members signed the treaty?', 'Six members signed the treaty in 1953.').negationMismatch, 0);
    assert.equal(featuresOf('Which members signed the treaty in Lisbon?', 'Six members signed the treaty in 1953. Lisbon hosted the talks.').missingRare, 1);
  });

  test('for a typed question, only sentences that hold a span of the kind are rivals of the answer', () => {
    const question = 'When did the council sign the treaty?';
    const [dated] = candidatesFor(question, [chunkOf('The council signed the treaty in 1953. The council signed the treaty gladly.')]);
    assert.equal(dated?.text, 'The council signed the treaty in 1953.');
    assert.ok((dated?.features.margin ?? 0) > 0, 'the undated sentence covers as much but cannot answer "when"');
  });
});

describe('the learned answer model (issue 16 item 2)', () => {
  const zero = Object.fromEntries(['bias', ...FEATURE_NAMES].map((name) => [name, 0])) as AnswerModel['candidate'];
  const chunk: RetrievedChunk = { chunkId: 'c#0', documentId: 'c', documentVersion: 1, collection: 'help', title: 'Council', text: 'The council signed the treaty in 1953. The council met in Rome.', score: 0.5 };

  test('the candidate with the highest score is chosen, and its confidence is the calibration of its score and lead', () => {
    const model: AnswerModel = { candidate: { ...zero, typedSpan: 2 }, calibration: { bias: -1, score: 1, lead: 0.5 } };
    const candidates = candidatesFor('When did the council sign the treaty?', [chunk]);
    const chosen = chooseAnswer(candidates, model);
    assert.equal(chosen?.candidate.text, 'The council signed the treaty in 1953.');
    // score 2, runner-up 0 → lead 2: sigmoid(-1 + 2 + 0.5 × 2)
    assert.ok(Math.abs((chosen?.confidence ?? 0) - 1 / (1 + Math.exp(-2))) < 1e-9);
  });

  test('without candidates there is nothing to choose', () => {
    assert.equal(chooseAnswer([], { candidate: zero, calibration: { bias: 0, score: 1, lead: 0 } }), undefined);
  });
});

describe('morphology (issue 16 item 1)', () => {
  test('irregular forms meet their regular form, and Porter joins inflections', () => {
    assert.deepEqual(contentTermsOf('wrote'), contentTermsOf('written'));
    assert.deepEqual(contentTermsOf('wrote'), contentTermsOf('writes'));
    assert.deepEqual(contentTermsOf('began'), contentTermsOf('beginning'));
    assert.deepEqual(contentTermsOf('fought'), contentTermsOf('fighting'));
    assert.deepEqual(contentTermsOf('children'), contentTermsOf('child'));
    assert.deepEqual(contentTermsOf("Normandy's"), contentTermsOf('Normandy'));
    assert.deepEqual(contentTermsOf('refunded'), contentTermsOf('refunds'));
    assert.deepEqual(contentTermsOf('ground'), contentTermsOf('grind'));
  });
});

describe('support counts what a sentence says, not what it links to (issue 16 item 1)', () => {
  test('the words of a link\'s text are context, so the page that answers outranks the sentence that points to it', () => {
    const chunk = (id: string, title: string, text: string, score: number): RetrievedChunk => ({ chunkId: `${id}#0`, documentId: id, documentVersion: 1, collection: 'help', title, text, score });
    const candidates = candidatesFor('How do I track my order?', [
      chunk('shipping', 'Shipping', 'For help with a parcel, see [Order tracking](https://x.example/tracking) or write to us.', 0.7),
      chunk('tracking', 'Order tracking', 'You can track your order in your account under Orders.', 0.6),
    ]);
    const coverage = (document: string): number => candidates.find((candidate) => candidate.chunk.documentId === document)?.features.sentenceCoverage ?? 0;
    assert.ok(coverage('tracking') > coverage('shipping'), `${coverage('tracking')} > ${coverage('shipping')}`);
    assert.ok(coverage('shipping') > 0 && coverage('shipping') < 1);
  });
});

describe('the answer threshold (issue 16 item 2)', () => {
  const chunk: RetrievedChunk = {
    chunkId: 'treaty#0',
    documentId: 'treaty',
    documentVersion: 1,
    collection: 'help',
    title: 'The treaty',
    text: 'The treaty was written by Thomas Jefferson in 1776. It was signed in Paris by both parties.',
    score: 0.7,
  };

  test('a supported question is answered with the supporting sentence, cited, with a confidence in (0, 1)', () => {
    const answer = answerFromChunks('Who wrote the treaty?', [chunk], { minCoverage: 0.3, answerThreshold: 0 });
    assert.equal(answer.abstained, false);
    assert.equal(answer.answer, 'The treaty was written by Thomas Jefferson in 1776.');
    assert.deepEqual(answer.citations, ['treaty#0']);
    assert.ok(answer.confidence > 0 && answer.confidence < 1);
  });

  test('below the task threshold the provider abstains instead of answering', () => {
    const confident = answerFromChunks('Who wrote the treaty?', [chunk], { minCoverage: 0.3, answerThreshold: 0 });
    const strict = answerFromChunks('Who wrote the treaty?', [chunk], { minCoverage: 0.3, answerThreshold: confident.confidence + 0.01 });
    assert.deepEqual(strict, { answer: '', citations: [], confidence: 0, abstained: true });
  });

  test('a near-miss whose name the chunk lacks is abstained on, even at threshold 0', () => {
    assert.equal(answerFromChunks('Who wrote the treaty of Versailles?', [chunk], { minCoverage: 0.3, answerThreshold: 0 }).abstained, true);
  });
});
