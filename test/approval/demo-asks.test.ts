import { describe, expect, it } from 'vitest';
import { scriptedReply } from '../../demo/scripted-reply.js';
import { demoToolApproval } from '../../demo/server.js';
import { describeDistance } from '../../demo/tools/distance-in-units.js';
import { NotesStore } from '../../demo/tools/notes-store.js';

// The demo's pieces for CONTRACT §7 (the browser test drives them end to end).
describe('demo: approval and elicitation pieces', () => {
  const tools = ['notes_search', 'notes_delete', 'distance_in_my_units', 'convert_units'];
  const ask = (content: string) => scriptedReply([{ role: 'user', content }], tools);

  it('the scripted model calls notes_delete and distance_in_my_units from plain words', () => {
    expect(ask('please delete note #3')).toEqual({ type: 'tool_call', name: 'notes_delete', arguments: { id: 3 } });
    expect(ask('show 42 km in my units')).toEqual({
      type: 'tool_call',
      name: 'distance_in_my_units',
      arguments: { km: 42 },
    });
    expect(ask('search my notes for coffee')).toMatchObject({ name: 'notes_search' });
    expect(ask('convert 10 km to mi')).toMatchObject({ name: 'convert_units' });
  });

  it('asks for destructive tools only', async () => {
    const call = (tool: string, annotations: Record<string, boolean>) =>
      demoToolApproval({
        userId: 'u',
        conversationId: 'c',
        server: 'demo',
        tool,
        input: {},
        annotations,
        trusted: false,
      });
    expect(await call('notes_delete', { destructiveHint: true })).toBe('ask');
    expect(await call('notes_delete', {})).toBe('ask');
    expect(await call('calculate', { readOnlyHint: true })).toBe('allow');
  });

  it('describes a distance in the chosen system, and says so when the user did not choose', () => {
    expect(describeDistance(42, { action: 'accept', content: { system: 'imperial', decimals: 1 } })).toBe(
      '42 km is 26.1 mi (imperial, as you chose).',
    );
    expect(describeDistance(5, { action: 'accept', content: { system: 'metric' } })).toBe(
      '5 km is 5.0 km (metric, as you chose).',
    );
    expect(describeDistance(5, { action: 'cancel' })).toBe('The user did not choose a unit system (cancel).');
  });

  it('deletes notes by id', () => {
    const notes = new NotesStore(['a', 'b']);
    expect(notes.delete(1).text).toBe('a');
    expect(notes.size).toBe(1);
    expect(() => notes.delete(1)).toThrow('There is no note #1.');
  });
});
