/** More words than this in one query are refused: each one costs an index range scan. */
export const MAX_SEARCH_WORDS = 8;

/** Splits text into search words: lower-cased, accents removed ("Márquez" → "marquez"), letters and digits only. */
export function searchWords(text: string): string[] {
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((word) => word.slice(0, 64));
  return [...new Set(words)];
}
