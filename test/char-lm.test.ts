// The character n-gram model behind the adversarial-suffix signal (issue 15 item 2, LLM01-5).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countNgrams, loadCharLanguageModel, ORDER, serialiseCounts, toSymbols, wordSurprisals } from '../src/guard/char-lm.js';
import { CHAR_LM_COUNTS } from '../src/guard/char-lm-model.generated.js';

describe('character language model (issue 15 item 2)', () => {
  test('toSymbols, when text has digits, accents, shouted words, other scripts and runs of spaces, then each maps to the model alphabet', () => {
    assert.equal(toSymbols('Café  ORDER 42 similarlyNow Жук'), 'Cafe order 00 similarlyNow λλλ');
  });

  test('toSymbols, when a word processor set dashes and quotes ("Wade–Giles", “new”, doesn’t), then they are the ASCII hyphen and quotes, not the other-symbol (issue 15 FPR, LLM01-5)', () => {
    assert.equal(toSymbols('Wade–Giles — “new” doesn’t'), 'Wade-Giles - "new" doesn\'t');
  });

  test('wordSurprisals, when a word in another script is wrapped in brackets or quotes, then it is still foreign (issue 15 FPR, LLM01-5)', () => {
    const model = loadCharLanguageModel(CHAR_LM_COUNTS);
    const words = wordSurprisals(model, 'the sentence (大元) and «日本»');
    assert.deepEqual(words.map((word) => word.foreign), [false, false, true, false, true]);
  });

  test('the smoothed distribution, for any context, sums to 1 over the alphabet plus the unseen-symbol mass (Witten-Bell)', () => {
    const model = loadCharLanguageModel(serialiseCounts(countNgrams(['the cat sat on the mat', 'a dog sat on a log']), 1));
    const alphabet = [...new Set('the cat sat on the mat a dog sat on a log')];
    for (const context of ['the', 'at ', 'zzz', ' o']) {
      // surprisals() scores the last symbol of `context + symbol` given the ORDER − 1 symbols before it.
      const mass = alphabet.reduce((sum, symbol) => {
        const bits = model.surprisals(`${context}${symbol}`);
        return sum + 2 ** -(bits[bits.length - 1] ?? 0);
      }, 0);
      const unseen = 1 / (alphabet.length + 1);
      assert.ok(mass < 1 && mass + unseen > 0.99, `${context}: ${mass}`);
    }
  });

  test('wordSurprisals, when English text ends in token soup, then the soup words score far above the English ones', () => {
    const model = loadCharLanguageModel(CHAR_LM_COUNTS);
    const english = 'Please tell me how long a refund takes to reach my card after the parcel is returned.';
    const words = wordSurprisals(model, `${english} heap Pauloame-( IX ISBNancouver [ [ [ comune`);
    const mean = (scores: typeof words) => scores.reduce((sum, word) => sum + word.bits, 0) / scores.length;
    const englishWords = english.split(' ').length;
    assert.deepEqual(words.slice(englishWords, englishWords + 2).map((word) => word.word), ['heap', 'Pauloame-(']);
    assert.ok(mean(words.slice(englishWords)) > mean(words.slice(0, englishWords)) + 2, `${mean(words.slice(englishWords))} vs ${mean(words.slice(0, englishWords))}`);
  });

  test('the shipped model, when read back, then it holds n-grams up to ORDER and totals/types only for contexts of ORDER - 1', () => {
    const lines = CHAR_LM_COUNTS.split('\n').map((line) => line.split('\t'));
    assert.equal(Math.max(...lines.filter((fields) => fields.length === 2).map(([gram = '']) => gram.length)), ORDER);
    const contexts = lines.filter((fields) => fields.length === 3);
    assert.ok(contexts.length > 0 && contexts.every(([context = '']) => context.length === ORDER - 1));
  });

  test('when the rare followers of a context are pruned, then an unseen follower keeps about the probability it had unpruned (issue 15, LLM01-5)', () => {
    // "hus" is followed by "k" often and by six other letters once each; pruning drops the six.
    const texts = [...Array.from({ length: 30 }, () => 'husk'), ...'bhtyel'.split('').map((letter) => `hus${letter}`), 'husband was here'];
    const unseenFollower = (minTopCount: number) => {
      const bits = loadCharLanguageModel(serialiseCounts(countNgrams(texts), minTopCount)).surprisals('husw');
      return bits[bits.length - 1] ?? 0;
    };
    assert.ok(Math.abs(unseenFollower(2) - unseenFollower(1)) < 0.5, `${unseenFollower(2)} vs ${unseenFollower(1)} bits`);
  });
});
