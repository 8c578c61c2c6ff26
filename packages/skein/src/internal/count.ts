/**
 * A whole number with thousands separators, as `toLocaleString('en-US')` writes it ("12,345"),
 * without loading the ICU locale data that a first `toLocaleString` costs a starting process.
 */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = '';
  for (let end = digits.length; end > 0; end -= 3) {
    const part = digits.slice(Math.max(0, end - 3), end);
    out = out === '' ? part : `${part},${out}`;
  }
  return n < 0 ? `-${out}` : out;
}
