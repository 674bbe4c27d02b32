// Server-Sent Events over fetch: blocks end with a blank line; `event:`, `data:`, `id:` fields;
// lines starting with `:` are comments (keep-alive pings). Copy this file as it is.

export function createSseParser(onEvent) {
  let buffer = '';
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
  return {
    push(chunk) {
      buffer += chunk;
      // A chunk may end between \r and \n: keep a trailing \r until the next chunk.
      const keep = buffer.endsWith('\r') ? '\r' : '';
      let text = (keep ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, '\n');
      let end = text.indexOf('\n\n');
      while (end !== -1) {
        dispatch(text.slice(0, end));
        text = text.slice(end + 2);
        end = text.indexOf('\n\n');
      }
      buffer = text + keep;
    },
    end() {
      if (buffer.trim() !== '') dispatch(buffer.replace(/\r\n?/g, '\n'));
      buffer = '';
    },
  };
}
