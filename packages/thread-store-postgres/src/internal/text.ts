/**
 * PostgreSQL text cannot hold NUL. Item lines never contain one (JSON escapes it); the derived
 * text columns and the parameters compared with them turn it into a space.
 */
export function withoutNul(text: string): string {
  return text.replaceAll('\u0000', ' ');
}
