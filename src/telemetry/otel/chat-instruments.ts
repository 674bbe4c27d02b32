import type { Counter, Histogram, Meter, UpDownCounter } from '@opentelemetry/api';

/** The metric instruments of {@link openTelemetry}. @internal */
export interface ChatInstruments {
  tokenUsage: Histogram;
  duration: Histogram;
  timeToFirstChunk: Histogram;
  turns: Counter;
  activeTurns: UpDownCounter;
}

// Bucket boundaries the GenAI conventions recommend.
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const SECOND_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

/** Creates the instruments once per observer. @internal */
export function createChatInstruments(meter: Meter): ChatInstruments {
  return {
    tokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Number of input and output tokens used.',
      unit: '{token}',
      advice: { explicitBucketBoundaries: TOKEN_BUCKETS },
    }),
    duration: meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'GenAI operation duration.',
      unit: 's',
      advice: { explicitBucketBoundaries: SECOND_BUCKETS },
    }),
    timeToFirstChunk: meter.createHistogram('gen_ai.client.operation.time_to_first_chunk', {
      description: 'Time to receive the first chunk of a streamed answer.',
      unit: 's',
      advice: { explicitBucketBoundaries: SECOND_BUCKETS },
    }),
    turns: meter.createCounter('mcp_llmchat.turns', {
      description: 'Chat turns, by outcome (final, error, stopped).',
      unit: '{turn}',
    }),
    activeTurns: meter.createUpDownCounter('mcp_llmchat.turns.active', {
      description: 'Chat turns running now.',
      unit: '{turn}',
    }),
  };
}
