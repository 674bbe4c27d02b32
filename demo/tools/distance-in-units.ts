/** The form `distance_in_my_units` asks the user to fill in (an MCP elicitation, form mode). */
export const UNITS_FORM = {
  type: 'object',
  properties: {
    system: {
      type: 'string',
      title: 'Unit system',
      description: 'Metric shows kilometres, imperial shows miles.',
      enum: ['metric', 'imperial'],
      default: 'metric',
    },
    decimals: { type: 'integer', title: 'Decimals', minimum: 0, maximum: 4, default: 1 },
  },
  required: ['system'],
} as const;

/** What the user answered to {@link UNITS_FORM}. */
export interface UnitsAnswer {
  action: 'accept' | 'decline' | 'cancel';
  content?: { system?: unknown; decimals?: unknown };
}

const KM_PER_MILE = 1.609344;

/**
 * The tool's text for a distance and the user's answer: the distance in their system, or a
 * sentence saying they did not choose (the model then answers without it).
 *
 * @example
 * describeDistance(42, { action: 'accept', content: { system: 'imperial', decimals: 1 } });
 * // '42 km is 26.1 mi (imperial, as you chose).'
 */
export function describeDistance(km: number, answer: UnitsAnswer): string {
  if (answer.action !== 'accept') return `The user did not choose a unit system (${answer.action}).`;
  const system = answer.content?.system === 'imperial' ? 'imperial' : 'metric';
  const decimals =
    typeof answer.content?.decimals === 'number' && Number.isInteger(answer.content.decimals)
      ? Math.min(4, Math.max(0, answer.content.decimals))
      : 1;
  const shown = system === 'imperial' ? `${(km / KM_PER_MILE).toFixed(decimals)} mi` : `${km.toFixed(decimals)} km`;
  return `${km} km is ${shown} (${system}, as you chose).`;
}
