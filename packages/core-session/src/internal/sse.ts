/** One server-sent event: its `event:` name (default `message`) and joined `data:` lines. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Parses a `text/event-stream` body into events, per the WHATWG rules that matter here: `\n`,
 * `\r\n` or `\r` line ends, `:` comments, multi-line `data`, dispatch on a blank line, and a final
 * event without a trailing blank line is dropped (it may be torn).
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>): AsyncIterable<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const takeLine = (): string | null => {
    const m = /\r\n|\n|\r/.exec(buffer);
    if (!m) return null;
    // A lone \r at the end may be half of \r\n: wait for more input.
    if (m[0] === '\r' && m.index === buffer.length - 1) return null;
    const line = buffer.slice(0, m.index);
    buffer = buffer.slice(m.index + m[0].length);
    return line;
  };
  const process = (line: string): SseEvent | null => {
    if (line === '') {
      const out = data.length > 0 ? { event: event || 'message', data: data.join('\n') } : null;
      event = '';
      data = [];
      return out;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    return null;
  };
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let line = takeLine(); line !== null; line = takeLine()) {
      const ev = process(line);
      if (ev) yield ev;
    }
  }
  buffer += decoder.decode();
  if (buffer.endsWith('\r')) buffer += '\n';
  for (let line = takeLine(); line !== null; line = takeLine()) {
    const ev = process(line);
    if (ev) yield ev;
  }
}
