// Server-Sent Events over fetch: blocks end with a blank line; `event:`, `data:`, `id:` fields;
// lines starting with `:` are comments (keep-alive pings). Copy this file as it is.

export function createSseParser(onEvent) {
  const dispatch = (block) => {
    let event = 'message';
    let id = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length === 0) return;
    const raw = data.join('\n');
    let payload;
    try {
      payload = JSON.parse(raw);
    } catch {
      payload = raw;
    }
    onEvent({ event, id, data: payload });
  };
  // The event being received, as normalized (\n only) pieces without a blank line in them. Each
  // chunk is normalized and searched on its own, once: joining the pieces happens once per event.
  // (Normalizing and searching the whole buffer again per chunk was quadratic in a long event.)
  let pieces = [];
  let endsWithNewline = false; // the last piece ends with \n: a chunk starting with \n ends the event
  let pendingCr = false; // a chunk ended between \r and \n: the \r waits for the next chunk
  return {
    push(chunk) {
      let text = (pendingCr ? '\r' : '') + chunk;
      pendingCr = text.endsWith('\r');
      if (pendingCr) text = text.slice(0, -1);
      text = text.replace(/\r\n?/g, '\n');
      let start = 0;
      if (endsWithNewline && text.startsWith('\n')) {
        // The blank line straddles two chunks.
        dispatch(pieces.join('').slice(0, -1));
        pieces = [];
        endsWithNewline = false;
        start = 1;
      }
      let end = text.indexOf('\n\n', start);
      while (end !== -1) {
        pieces.push(text.slice(start, end));
        dispatch(pieces.join(''));
        pieces = [];
        endsWithNewline = false;
        start = end + 2;
        end = text.indexOf('\n\n', start);
      }
      if (start < text.length) {
        pieces.push(text.slice(start));
        endsWithNewline = text.endsWith('\n');
      }
    },
    end() {
      const rest = pieces.join('') + (pendingCr ? '\n' : '');
      if (rest.trim() !== '') dispatch(rest);
      pieces = [];
      endsWithNewline = false;
      pendingCr = false;
    },
  };
}
