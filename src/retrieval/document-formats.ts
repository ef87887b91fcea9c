// Reads the files teams already have into text the corpus can ingest: Markdown, text and HTML (front matter optional),
// PDF through its text layer (Mozilla's pdfjs-dist) and DOCX through mammoth (its HTML keeps the headings). A file
// that cannot be read is refused with the reason; the caller reports it by name and moves on.
import { extname } from 'node:path';
import type { ContentType } from '../contracts/corpus.js';
import { AppError } from '../errors.js';
import { firstMarkdownHeading, splitFrontMatter } from './front-matter.js';
import { htmlToText } from './text.js';
import type { PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface ReadDocument {
  /** What the store receives: the file's text (or the HTML a DOCX converts to), hashed as given. */
  readonly content: string;
  readonly contentType: ContentType;
  /** Front-matter fields as written, to override every default. */
  readonly fields: Readonly<Record<string, string>>;
  /** The title the document gives itself (first heading, <title>, PDF metadata), if any. */
  readonly title: string | undefined;
}

type Reader = (bytes: Buffer) => Promise<ReadDocument>;

const textReader = (contentType: ContentType): Reader => async (bytes) => {
  const { fields, body } = splitFrontMatter(bytes.toString('utf8'));
  const title = contentType === 'html' ? htmlToText(body).title : contentType === 'markdown' ? firstMarkdownHeading(body) : undefined;
  return { content: body, contentType, fields, title };
};

const unreadable = (reason: string): AppError => new AppError('unsupported_media_type', { detail: reason });

async function readPdf(bytes: Buffer): Promise<ReadDocument> {
  // Loaded on first use: most ingests carry no PDF and the library is large.
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  let document: PDFDocumentProxy;
  try {
    document = await pdfjs.getDocument({ data: new Uint8Array(bytes), verbosity: 0, isEvalSupported: false, disableFontFace: true, useSystemFonts: false }).promise;
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'PasswordException') throw unreadable('encrypted PDF (password protected); export it without a password');
    throw unreadable(`not a readable PDF (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    const text = await pdfText(document);
    if (text === '') throw unreadable('PDF has no text layer (a scan?); run OCR on it first');
    const { info } = (await document.getMetadata()) as { info?: { Title?: unknown } };
    const title = typeof info?.Title === 'string' && info.Title.trim() !== '' ? info.Title.trim() : undefined;
    return { content: text, contentType: 'text', fields: {}, title };
  } finally {
    await document.destroy();
  }
}

/** The text layer, page by page; a page that cannot be decoded refuses the file rather than leaving a gap. */
async function pdfText(document: PDFDocumentProxy): Promise<string> {
  const pages: string[] = [];
  try {
    for (let number = 1; number <= document.numPages; number += 1) {
      const content = await (await document.getPage(number)).getTextContent();
      pages.push(content.items.map((item) => ('str' in item ? `${item.str}${item.hasEOL ? '\n' : ''}` : '')).join(''));
    }
  } catch (error) {
    throw unreadable(`not a readable PDF (${error instanceof Error ? error.message : String(error)})`);
  }
  return pages.map((page) => page.trim()).filter((page) => page !== '').join('\n\n');
}

async function readDocx(bytes: Buffer): Promise<ReadDocument> {
  const mammoth = (await import('mammoth')).default;
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: bytes })).value;
  } catch (error) {
    throw unreadable(`not a readable DOCX (${error instanceof Error ? (error.message.split('\n')[0] ?? '').replace(/\s*If it is, see https?:\/\/\S+/, '') : String(error)})`);
  }
  const { text, title } = htmlToText(html);
  if (text === '') throw unreadable('DOCX has no text');
  return { content: html, contentType: 'html', fields: {}, title };
}

const READERS: Readonly<Record<string, Reader>> = {
  '.md': textReader('markdown'),
  '.markdown': textReader('markdown'),
  '.txt': textReader('text'),
  '.html': textReader('html'),
  '.htm': textReader('html'),
  '.pdf': readPdf,
  '.docx': readDocx,
};

export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(READERS);

/** Reads one file's bytes by its extension; an unknown type or an unreadable file is an unsupported_media_type refusal. */
export async function readDocument(path: string, bytes: Buffer): Promise<ReadDocument> {
  const extension = extname(path).toLowerCase();
  const reader = READERS[extension];
  if (reader === undefined) throw unreadable(`unsupported type ${extension === '' ? '(no extension)' : extension}; ingested: ${SUPPORTED_EXTENSIONS.join(', ')}`);
  return reader(bytes);
}
