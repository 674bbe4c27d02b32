import { findUnit } from './tools/convert-units.js';

/** The parts of a Chat Completions message the scripted model reads. */
export interface ScriptedChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[];
  tool_call_id?: string;
}

/** What the scripted model answers: one tool call, or text to stream. */
export type ScriptedReply =
  | { type: 'tool_call'; name: string; arguments: Record<string, unknown> }
  | { type: 'text'; text: string; wordDelayMs: number };

/** Word delay of ordinary answers: fast, yet slow enough to see the streaming. */
const WORD_DELAY_MS = 18;
/** Word delay of the long story: about ten seconds in all, time enough to press Stop. */
const STORY_WORD_DELAY_MS = 40;

/**
 * The scripted demo model's "brain": simple rules, no AI. After tool results it answers in words
 * from them; otherwise it picks a tool from keywords of the last user message (arithmetic →
 * `calculate`, "time" → `current_time`, "convert"/`10 km to mi` → `convert_units`,
 * "note"/"remember" → the notes tools, "delete note N" → `notes_delete`, "N km in my units" →
 * `distance_in_my_units`), "long"/"story" gives a long answer, and anything else
 * gets a help text. A tool the connected server does not offer is never called.
 *
 * @example
 * scriptedReply([{ role: 'user', content: 'what is 12 * 7?' }], ['calculate']);
 * // { type: 'tool_call', name: 'calculate', arguments: { expression: '12 * 7' } }
 */
export function scriptedReply(messages: readonly ScriptedChatMessage[], toolNames: readonly string[]): ScriptedReply {
  const lastUser = messages.findLastIndex((message) => message.role === 'user' && textOf(message.content) !== '');
  const results = messages.slice(lastUser + 1).filter((message) => message.role === 'tool');
  if (results.length > 0) return text(answerFromResults(messages, results));

  const userText = lastUser >= 0 ? textOf(messages[lastUser]?.content) : '';
  const plan = planTool(userText);
  if (plan === 'story') return { type: 'text', text: STORY, wordDelayMs: STORY_WORD_DELAY_MS };
  if (plan === null) return text(HELP);
  const name = resolveTool(plan.tool, toolNames);
  if (!name) {
    return text(
      `I would use the \`${plan.tool}\` tool for that, but the connected MCP server does not offer it. ` +
        'Connect to the demo MCP server (the default) and ask again.',
    );
  }
  return { type: 'tool_call', name, arguments: plan.arguments };
}

type ToolPlan = { tool: string; arguments: Record<string, unknown> };

function planTool(message: string): ToolPlan | 'story' | null {
  const lower = message.toLowerCase();
  if (/\b(long|story|stories)\b/.test(lower)) return 'story';

  // Deleting asks the user first (the demo's toolApproval rule), so it comes before the search rule.
  const deletion = /\b(?:delete|remove|erase)\s+note\s*#?\s*(\d+)/i.exec(message);
  if (deletion?.[1]) return { tool: 'notes_delete', arguments: { id: Number(deletion[1]) } };
  // The tool asks the user which unit system to use (an MCP elicitation).
  const myUnits = /(\d+(?:\.\d+)?)\s*km\b.*\bmy units\b/i.exec(message);
  if (myUnits?.[1]) return { tool: 'distance_in_my_units', arguments: { km: Number(myUnits[1]) } };

  const remember =
    /\b(?:remember(?:\s+that)?|note down|(?:add|save|take|write)\s+(?:a\s+)?note(?:\s+that)?)\s*:?\s*(.+)/is.exec(
      message,
    );
  if (remember?.[1]) return { tool: 'notes_add', arguments: { text: remember[1].trim().replace(/[.!]+$/, '') } };
  if (/\bnotes?\b/.test(lower)) {
    const query = lower
      .replace(
        /\b(search|find|show|list|look|up|what|which|do|does|i|have|my|the|notes?|about|for|on|in|any|me|all|please|can|you|are|there|with)\b/g,
        ' ',
      )
      .replace(/[^\p{L}\p{N}\s]/gu, ' ')
      .replace(/\s+/g, ' ')
      .trim();
    return { tool: 'notes_search', arguments: { query } };
  }

  const conversion = /(-?\d+(?:\.\d+)?)\s*(°?\s?[a-z°]+)\s+(?:to|in|into|as)\s+(°?[a-z]+)/i.exec(message);
  if (conversion?.[2] && conversion[3] && findUnit(conversion[2]) && findUnit(conversion[3])) {
    return {
      tool: 'convert_units',
      arguments: { value: Number(conversion[1]), from: conversion[2].replace(/\s/g, ''), to: conversion[3] },
    };
  }

  const expression = findExpression(message);
  if (expression) return { tool: 'calculate', arguments: { expression } };

  if (/\b(time|clock|date|today)\b/.test(lower)) {
    const timezone = findTimeZone(message);
    return { tool: 'current_time', arguments: timezone ? { timezone } : {} };
  }
  return null;
}

const FUNCTION_NAMES = 'sqrt|abs|round|floor|ceil|sin|cos|tan|ln|log|exp|min|max|pow';

/** The first arithmetic expression in a message, with "plus", "times", "x" and friends as operators. */
function findExpression(message: string): string | null {
  const normalized = message
    .replace(/\bplus\b/gi, '+')
    .replace(/\bminus\b/gi, '-')
    .replace(/\b(?:times|multiplied by)\b/gi, '*')
    .replace(/\b(?:divided by|over)\b/gi, '/')
    .replace(/(\d)\s*[x×]\s*(?=[\d(])/gi, '$1 * ')
    .replace(/\bsquare root of\s+(\d+(?:\.\d+)?)/gi, 'sqrt($1)');
  const pattern = new RegExp(
    `(?:(?:${FUNCTION_NAMES}|pi)\\b|[-(\\d.])(?:[\\d\\s.+\\-*/^%÷×(),]|\\b(?:${FUNCTION_NAMES}|pi)\\b)*`,
    'gi',
  );
  for (const match of normalized.matchAll(pattern)) {
    const candidate = match[0].trim().replace(/[\s.,]+$/, '');
    const hasOperator = /[\d)a-z]\s*[-+*/^%÷×]\s*[-\d(.a-z]/i.test(candidate);
    const hasFunction = new RegExp(`\\b(?:${FUNCTION_NAMES})\\s*\\(`, 'i').test(candidate);
    if (hasOperator || hasFunction) return candidate;
  }
  return null;
}

const CITY_ZONES: Record<string, string> = {
  tokyo: 'Asia/Tokyo',
  london: 'Europe/London',
  paris: 'Europe/Paris',
  berlin: 'Europe/Berlin',
  madrid: 'Europe/Madrid',
  rome: 'Europe/Rome',
  amsterdam: 'Europe/Amsterdam',
  zurich: 'Europe/Zurich',
  'new york': 'America/New_York',
  chicago: 'America/Chicago',
  denver: 'America/Denver',
  'los angeles': 'America/Los_Angeles',
  'san francisco': 'America/Los_Angeles',
  seattle: 'America/Los_Angeles',
  toronto: 'America/Toronto',
  'sao paulo': 'America/Sao_Paulo',
  'mexico city': 'America/Mexico_City',
  sydney: 'Australia/Sydney',
  auckland: 'Pacific/Auckland',
  singapore: 'Asia/Singapore',
  'hong kong': 'Asia/Hong_Kong',
  shanghai: 'Asia/Shanghai',
  beijing: 'Asia/Shanghai',
  seoul: 'Asia/Seoul',
  mumbai: 'Asia/Kolkata',
  delhi: 'Asia/Kolkata',
  bangalore: 'Asia/Kolkata',
  dubai: 'Asia/Dubai',
  cairo: 'Africa/Cairo',
  nairobi: 'Africa/Nairobi',
  lagos: 'Africa/Lagos',
  utc: 'UTC',
  gmt: 'UTC',
};

function findTimeZone(message: string): string | undefined {
  const iana = /\b([A-Z][A-Za-z]+\/[A-Za-z_]+(?:\/[A-Za-z_]+)?)\b/.exec(message);
  if (iana?.[1]) return iana[1];
  const lower = message.toLowerCase();
  for (const [city, zone] of Object.entries(CITY_ZONES)) {
    if (new RegExp(`\\b${city}\\b`).test(lower)) return zone;
  }
  return undefined;
}

function answerFromResults(messages: readonly ScriptedChatMessage[], results: ScriptedChatMessage[]): string {
  const calls = new Map<string, string>();
  for (const message of messages) {
    for (const call of message.tool_calls ?? []) {
      if (call.id && call.function?.name) calls.set(call.id, call.function.name);
    }
  }
  return results
    .map((result) => {
      const name = calls.get(result.tool_call_id ?? '') ?? 'tool';
      const content = textOf(result.content);
      if (content.startsWith('Error: ')) {
        return `The \`${name}\` tool reported a problem: *${content.slice(7)}*`;
      }
      return describeResult(name, content);
    })
    .join('\n\n');
}

function describeResult(name: string, content: string): string {
  const equals = content.lastIndexOf(' = ');
  if (name.endsWith('calculate') && equals > 0) {
    return `${content.slice(0, equals)} = **${content.slice(equals + 3)}**\n\nI worked that out with the \`calculate\` tool, so it is exact.`;
  }
  if (name.endsWith('convert_units') && equals > 0) {
    return `${content.slice(0, equals)} is **${content.slice(equals + 3)}** (from the \`convert_units\` tool).`;
  }
  if (name.endsWith('current_time')) {
    const [when = content] = content.split('. ISO:');
    return `Right now it is **${when}**, according to the \`current_time\` tool.`;
  }
  if (name.endsWith('notes_search')) {
    if (content.startsWith('No notes')) {
      return "I couldn't find a matching note. Add one by saying *remember that …*.";
    }
    const lines = content.split('\n').slice(1).join('\n');
    return `Here is what I found in the notes:\n\n${lines}`;
  }
  if (name.endsWith('notes_delete')) {
    const id = /^Deleted note #(\d+)/.exec(content)?.[1];
    return id ? `Done: note **#${id}** is deleted.` : `I did not delete anything: *${content}*`;
  }
  if (name.endsWith('distance_in_my_units')) {
    return content.replace(/ is (.+?) \(/, ' is **$1** (');
  }
  if (name.endsWith('notes_add')) {
    const id = /#(\d+)/.exec(content)?.[1];
    return `Done: I saved that as note **#${id ?? '?'}**. Ask me to *search my notes* any time.`;
  }
  return `The \`${name}\` tool returned:\n\n\`\`\`\n${content}\n\`\`\``;
}

function resolveTool(wanted: string, toolNames: readonly string[]): string | undefined {
  return toolNames.find((name) => name === wanted) ?? toolNames.find((name) => name.endsWith(`_${wanted}`));
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === 'object' && 'text' in part ? String(part.text) : ''))
      .join('');
  }
  return '';
}

function text(body: string): ScriptedReply {
  return { type: 'text', text: body, wordDelayMs: WORD_DELAY_MS };
}

const HELP = `Hi! I'm the **scripted demo model**: a few simple rules, not a real AI, so you can try mcp-llmchat without an API key. I call the demo MCP server's tools when your message matches:

- arithmetic such as \`what is 12 * 7?\` → \`calculate\`
- \`what time is it in Tokyo?\` → \`current_time\`
- \`convert 10 km to miles\` → \`convert_units\`
- \`remember that …\` or \`search my notes for coffee\` → \`notes_add\` / \`notes_search\`
- \`delete note 2\` → \`notes_delete\`, which asks for your approval first
- \`show 42 km in my units\` → \`distance_in_my_units\`, which asks you which unit system to use
- \`tell me a long story\` → a long answer, to try the **Stop** button

To chat with a real model, restart the demo with \`OPENAI_API_KEY=sk-… npm run demo\`, or \`ANTHROPIC_API_KEY=…\`, or \`OPENAI_BASE_URL=http://127.0.0.1:11434/v1\` for a local Ollama.`;

const STORY = `## The lighthouse keeper's calculator

Once upon a time, on a rocky island at the edge of the map, there lived a lighthouse keeper named **Ada** who kept very careful notes. Every evening she climbed the one hundred and twelve steps of the tower, polished the great lens, and wrote down three things: the weather, the ships she had seen, and one question she could not yet answer.

One winter the questions piled up faster than the answers. *How far away is the horizon from the top of the tower? What time is it in the harbour town where the ferry leaves? How many kilograms of lamp oil make a gallon?* The keeper had books, but the books disagreed, and the storms were long.

So Ada built a small machine out of brass gears and a typewriter. She fed it her questions one at a time. The machine did not know everything, but it knew **whom to ask**: a calculator for sums, a clock for the hour, a converter for oil and miles, and her own box of notes for everything she had ever written down.

Night after night the machine clicked and hummed. It would read a question, decide which helper could answer it, pass the question along, wait for the reply, and then write the answer back in a plain sentence, one word at a time, so that Ada could follow along by candlelight.

Sailors began to row out to the island just to watch it work. A fisherman asked how many miles his nets stretched. A child asked what time it was in Tokyo, where her grandmother lived. A ship's cook asked for the square root of his age, for reasons he would not explain.

The machine answered them all. And when someone asked it for a story that went on far too long, Ada simply reached over and pressed the **Stop** key, and the machine stopped, mid-sentence, politely, ready for the next question.

That, the keeper liked to say, was the whole secret: know your tools, say what you found, and always let people stop you when they have heard enough.

*The end.*`;
