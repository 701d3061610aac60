// What a PDF Chromium printed says, read without a PDF library (none is
// pinned, and the tests only need three facts): how many pages, each
// page's MediaBox, and the text drawn on them. Enough of PDF for Skia's
// output: plain objects, Flate streams, Type0 fonts whose ToUnicode CMaps
// map glyph codes back to text.

import { inflateSync } from 'node:zlib';

/** The streams of `pdf` (a Buffer), inflated where they are Flate. */
function streams(pdf) {
  const out = [];
  const text = pdf.toString('latin1');
  const re = /(?<!end)stream\r?\n/g;
  let m;
  while ((m = re.exec(text))) {
    const start = m.index + m[0].length;
    const end = text.indexOf('endstream', start);
    if (end < 0) break;
    const dict = text.slice(Math.max(0, m.index - 300), m.index);
    const raw = pdf.subarray(start, end);
    let body = raw;
    if (/\/FlateDecode/.test(dict.slice(dict.lastIndexOf('<<')))) {
      try {
        body = inflateSync(raw);
      } catch {
        try {
          body = inflateSync(raw.subarray(0, raw.length - 1));
        } catch {
          body = Buffer.alloc(0);
        }
      }
    }
    out.push(body.toString('latin1'));
    re.lastIndex = end;
  }
  return out;
}

/** A ToUnicode CMap: code (hex, upper case) → text, and the code length in hex digits. */
function cmapOf(source) {
  const map = new Map();
  const range = /begincodespacerange\s*<([0-9A-Fa-f]+)>/.exec(source);
  const width = range ? range[1].length : 4;
  const utf16 = (hex) => {
    const units = [];
    for (let i = 0; i + 4 <= hex.length; i += 4) units.push(parseInt(hex.slice(i, i + 4), 16));
    return String.fromCharCode(...units);
  };
  for (const block of source.matchAll(/beginbfchar([\s\S]*?)endbfchar/g)) {
    for (const [, code, dst] of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>/g)) {
      map.set(code.toUpperCase(), utf16(dst));
    }
  }
  for (const block of source.matchAll(/beginbfrange([\s\S]*?)endbfrange/g)) {
    for (const [, lo, hi, dst] of block[1].matchAll(/<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>/g)) {
      const first = parseInt(dst, 16);
      for (let c = parseInt(lo, 16), i = 0; c <= parseInt(hi, 16); c++, i++) {
        const code = c.toString(16).toUpperCase().padStart(lo.length, '0');
        const value = first + i;
        map.set(code, utf16(value.toString(16).padStart(dst.length, '0')));
      }
    }
  }
  return { map, width };
}

/**
 * Reads a PDF: `{ pages, mediaBoxes: [[x0, y0, x1, y1]], texts }` where
 * `texts` holds, per font CMap, every text block of the content decoded
 * with it (a block in another font decodes to noise, which does no harm
 * to a search for words drawn in one font).
 */
export function readPdf(pdf) {
  const all = [pdf.toString('latin1'), ...streams(pdf)];
  const joined = all.join('\n');
  const pages = (joined.match(/\/Type\s*\/Page(?![a-zA-Z])/g) || []).length;
  const mediaBoxes = [...joined.matchAll(/\/MediaBox\s*\[\s*([-\d.\s]+)\]/g)].map((m) => m[1].trim().split(/\s+/).map(Number));
  const cmaps = all.filter((s) => s.includes('begincmap')).map(cmapOf);
  const blocks = all
    .filter((s) => /\bBT\b[\s\S]*\bET\b/.test(s))
    .flatMap((s) => [...s.matchAll(/\bBT\b([\s\S]*?)\bET\b/g)].map((b) => [...b[1].matchAll(/<([0-9A-Fa-f]*)>/g)].map((h) => h[1]).join('')));
  const texts = cmaps.map(({ map, width }) =>
    blocks
      .map((hex) => {
        let s = '';
        for (let i = 0; i + width <= hex.length; i += width) s += map.get(hex.slice(i, i + width).toUpperCase()) ?? '';
        return s;
      })
      .join('\n'),
  );
  return { pages, mediaBoxes, texts };
}

/**
 * Whether `words` (spaces ignored) is drawn in the PDF read by
 * [`readPdf`]. Chinese and Latin runs are looked for one by one: Chromium
 * draws each with the font that has its glyphs, so a mixed line is two
 * fonts' text.
 */
export function pdfHasText(read, words) {
  const runs = words.replace(/\s+/g, '').split(/([\u3000-\u9fff\uff00-\uffef]+)/).filter(Boolean);
  const texts = read.texts.map((t) => t.replace(/\s+/g, ''));
  return runs.every((run) => texts.some((t) => t.includes(run)));
}
