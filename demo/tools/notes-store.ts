/** One stored note. */
export interface Note {
  id: number;
  text: string;
  createdAt: string;
}

const SEED_NOTES = [
  'Team standup is at 9:30 every weekday in the Aurora room; Fridays it is remote.',
  'Launch checklist: record the demo video, publish the blog post, open the Q&A thread.',
  'mcp-llmchat keeps sessions in memory by default; use Redis when several processes serve users.',
  'Grocery list: oat milk, coffee beans, basil, lemons, sourdough.',
  'Book recommendation from Sam: "The Left Hand of Darkness" by Ursula K. Le Guin.',
];

const MAX_NOTES = 500;
const MAX_NOTE_CHARS = 2000;

/**
 * A small in-memory, searchable notes store for the demo MCP server, seeded with a few notes.
 * Shared by every MCP session of the server, so a note added in one chat is found in another.
 */
export class NotesStore {
  readonly #notes: Note[] = [];
  #nextId = 1;

  constructor(seed: readonly string[] = SEED_NOTES) {
    for (const text of seed) this.add(text);
  }

  /**
   * Stores a note; the oldest goes once there are more than 500.
   * @throws Error when the text is empty or longer than 2000 characters.
   */
  add(text: string): Note {
    const clean = text.trim();
    if (clean === '') throw new Error('A note needs some text.');
    if (clean.length > MAX_NOTE_CHARS) throw new Error(`A note holds at most ${MAX_NOTE_CHARS} characters.`);
    const note: Note = { id: this.#nextId++, text: clean, createdAt: new Date().toISOString() };
    this.#notes.push(note);
    if (this.#notes.length > MAX_NOTES) this.#notes.shift();
    return note;
  }

  /**
   * Notes matching the query, best first: each query word found in a note scores a point (a
   * prefix match half a point), ties go to the newest. An empty query lists the newest notes.
   */
  search(query: string, limit = 5): Note[] {
    const words = tokenize(query);
    const newestFirst = [...this.#notes].reverse();
    if (words.length === 0) return newestFirst.slice(0, limit);
    return newestFirst
      .map((note) => ({ note, score: score(tokenize(note.text), words) }))
      .filter((entry) => entry.score > 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, limit)
      .map((entry) => entry.note);
  }

  /**
   * Deletes a note by id and returns it.
   * @throws Error when there is no such note.
   */
  delete(id: number): Note {
    const index = this.#notes.findIndex((note) => note.id === id);
    const [note] = index === -1 ? [] : this.#notes.splice(index, 1);
    if (!note) throw new Error(`There is no note #${id}.`);
    return note;
  }

  /** How many notes are stored. */
  get size(): number {
    return this.#notes.length;
  }
}

const STOP_WORDS = new Set([
  'a',
  'an',
  'the',
  'my',
  'about',
  'for',
  'of',
  'on',
  'in',
  'to',
  'is',
  'any',
  'notes',
  'note',
]);

function tokenize(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((word) => !STOP_WORDS.has(word));
}

function score(noteWords: string[], queryWords: string[]): number {
  let total = 0;
  for (const word of queryWords) {
    if (noteWords.includes(word)) total += 1;
    else if (word.length >= 3 && noteWords.some((candidate) => candidate.startsWith(word))) total += 0.5;
  }
  return total;
}
