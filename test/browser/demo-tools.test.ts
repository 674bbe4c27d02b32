import { describe, expect, it } from 'vitest';
import { scriptedReply } from '../../demo/scripted-reply.js';
import { calculate } from '../../demo/tools/calculate.js';
import { convertUnits } from '../../demo/tools/convert-units.js';
import { currentTime } from '../../demo/tools/current-time.js';
import { NotesStore } from '../../demo/tools/notes-store.js';

// The demo's tools and its scripted model (the browser test drives them end to end).
describe('demo tools', () => {
  it('calculate follows arithmetic precedence and never runs code', () => {
    expect(calculate('12 * 7')).toBe(84);
    expect(calculate('(3 + 4) * 2^3')).toBe(56);
    expect(calculate('-2^2')).toBe(-4);
    expect(calculate('2^3^2')).toBe(512);
    expect(calculate('0.1 + 0.2')).toBe(0.3);
    expect(calculate('max(1, 5, 3) + sqrt(16) % 3')).toBe(6);
    expect(calculate('12 × 7 ÷ 2')).toBe(42);
    expect(() => calculate('1 / 0')).toThrow('Division by zero.');
    expect(() => calculate('process.exit(1)')).toThrow("Unexpected character '.'");
    expect(() => calculate('constructor')).toThrow("Unknown name 'constructor'");
    expect(() => calculate('toString(1)')).toThrow("Unknown name 'tostring'");
    expect(() => calculate('3 +')).toThrow('ends too early');
    expect(() => calculate(`${'('.repeat(200)}1${')'.repeat(200)}`)).toThrow('nested too deeply');
  });

  it('convert_units handles names, plurals and temperatures', () => {
    expect(convertUnits(10, 'km', 'miles')).toEqual({ value: 10, from: 'km', result: 6.21371192237, to: 'mi' });
    expect(convertUnits(212, 'fahrenheit', 'C').result).toBe(100);
    expect(convertUnits(2, 'pounds', 'kg').result).toBe(0.90718474);
    expect(() => convertUnits(1, 'constructor', 'km')).toThrow("Unknown unit 'constructor'");
    expect(() => convertUnits(1, 'kg', 'km')).toThrow('Cannot convert mass (kg) to length (km).');
    expect(() => convertUnits(-500, 'C', 'K')).toThrow('below absolute zero');
  });

  it('current_time formats in a zone and rejects unknown zones', () => {
    const now = new Date('2025-06-05T14:04:11Z');
    expect(currentTime('Asia/Tokyo', now)).toBe(
      'Thursday, 5 June 2025, 23:04:11 in Asia/Tokyo (GMT+9). ISO: 2025-06-05T14:04:11.000Z',
    );
    expect(() => currentTime('Mars/Olympus')).toThrow("Unknown time zone 'Mars/Olympus'");
  });

  it('notes are searchable by words, best match first', () => {
    const notes = new NotesStore(['coffee beans and milk', 'meeting about coffee machine budget', 'tea']);
    notes.add('The coffee machine is fixed');
    expect(notes.search('coffee machine').map((n) => n.text)).toEqual([
      'The coffee machine is fixed',
      'meeting about coffee machine budget',
      'coffee beans and milk',
    ]);
    expect(notes.search('', 1).map((n) => n.id)).toEqual([4]);
    expect(() => notes.add('   ')).toThrow('A note needs some text.');
  });
});

describe('scripted model rules', () => {
  const tools = ['calculate', 'current_time', 'convert_units', 'notes_search', 'notes_add'];
  const ask = (content: string) => scriptedReply([{ role: 'user', content }], tools);

  it('picks a tool from the words of the message', () => {
    expect(ask('what is 12 * 7?')).toEqual({
      type: 'tool_call',
      name: 'calculate',
      arguments: { expression: '12 * 7' },
    });
    expect(ask('what is 5 plus 3 times 2')).toMatchObject({ arguments: { expression: '5 + 3 * 2' } });
    expect(ask('What time is it in Tokyo?')).toEqual({
      type: 'tool_call',
      name: 'current_time',
      arguments: { timezone: 'Asia/Tokyo' },
    });
    expect(ask('Convert 10 km to miles')).toMatchObject({
      name: 'convert_units',
      arguments: { value: 10, from: 'km', to: 'miles' },
    });
    expect(ask('Remember that the demo is on Friday.')).toMatchObject({
      name: 'notes_add',
      arguments: { text: 'the demo is on Friday' },
    });
    expect(ask('search my notes for launch')).toMatchObject({ name: 'notes_search', arguments: { query: 'launch' } });
    expect(ask('tell me a long story')).toMatchObject({ type: 'text', wordDelayMs: 40 });
    expect(ask('hello')).toMatchObject({ type: 'text', text: expect.stringContaining('OPENAI_API_KEY') });
  });

  it('answers from tool results, and never calls a tool the server lacks', () => {
    const reply = scriptedReply(
      [
        { role: 'user', content: 'what is 12 * 7?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', function: { name: 'calculate', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: '12 * 7 = 84' },
      ],
      tools,
    );
    expect(reply).toMatchObject({ type: 'text', text: expect.stringContaining('12 * 7 = **84**') });
    expect(scriptedReply([{ role: 'user', content: 'what is 2 * 2' }], ['other'])).toMatchObject({
      type: 'text',
      text: expect.stringContaining('does not offer it'),
    });
  });
});
