/** A unit the demo converter knows. */
interface Unit {
  symbol: string;
  dimension: 'length' | 'mass' | 'temperature';
  /** Length and mass: size in metres or kilograms. Unused for temperature. */
  factor: number;
}

const UNITS: Unit[] = [
  { symbol: 'mm', dimension: 'length', factor: 0.001 },
  { symbol: 'cm', dimension: 'length', factor: 0.01 },
  { symbol: 'm', dimension: 'length', factor: 1 },
  { symbol: 'km', dimension: 'length', factor: 1000 },
  { symbol: 'in', dimension: 'length', factor: 0.0254 },
  { symbol: 'ft', dimension: 'length', factor: 0.3048 },
  { symbol: 'yd', dimension: 'length', factor: 0.9144 },
  { symbol: 'mi', dimension: 'length', factor: 1609.344 },
  { symbol: 'mg', dimension: 'mass', factor: 1e-6 },
  { symbol: 'g', dimension: 'mass', factor: 0.001 },
  { symbol: 'kg', dimension: 'mass', factor: 1 },
  { symbol: 't', dimension: 'mass', factor: 1000 },
  { symbol: 'oz', dimension: 'mass', factor: 0.028349523125 },
  { symbol: 'lb', dimension: 'mass', factor: 0.45359237 },
  { symbol: 'st', dimension: 'mass', factor: 6.35029318 },
  { symbol: '°C', dimension: 'temperature', factor: 1 },
  { symbol: '°F', dimension: 'temperature', factor: 1 },
  { symbol: 'K', dimension: 'temperature', factor: 1 },
];

const ALIASES: Record<string, string> = {
  millimeter: 'mm',
  millimetre: 'mm',
  centimeter: 'cm',
  centimetre: 'cm',
  meter: 'm',
  metre: 'm',
  kilometer: 'km',
  kilometre: 'km',
  inch: 'in',
  inches: 'in',
  foot: 'ft',
  feet: 'ft',
  yard: 'yd',
  mile: 'mi',
  milligram: 'mg',
  gram: 'g',
  kilogram: 'kg',
  kilo: 'kg',
  tonne: 't',
  ton: 't',
  ounce: 'oz',
  pound: 'lb',
  lbs: 'lb',
  stone: 'st',
  c: '°C',
  celsius: '°C',
  centigrade: '°C',
  f: '°F',
  fahrenheit: '°F',
  k: 'K',
  kelvin: 'K',
};

/** Every unit symbol and spelled-out name {@link convertUnits} accepts (lower case). */
export const UNIT_NAMES: readonly string[] = [
  ...UNITS.map((unit) => unit.symbol.toLowerCase()),
  ...Object.keys(ALIASES),
  ...Object.keys(ALIASES).map((alias) => `${alias}s`),
];

/** Finds a unit by symbol or name: `km`, `kilometres`, `°F`, `fahrenheit`, `lbs`. */
export function findUnit(name: string): Unit | undefined {
  const raw = name.trim();
  const exact = UNITS.find((unit) => unit.symbol === raw);
  if (exact) return exact;
  let key = raw.toLowerCase().replace(/^deg(?:rees?)?\s*/, '');
  if (key.startsWith('°')) key = key.slice(1);
  // Plurals: miles, inches.
  for (const candidate of [key, key.replace(/s$/, ''), key.replace(/es$/, '')]) {
    const symbol = Object.hasOwn(ALIASES, candidate) ? (ALIASES[candidate] as string) : candidate;
    const unit = UNITS.find((u) => u.symbol.toLowerCase() === symbol.toLowerCase());
    if (unit) return unit;
  }
  return undefined;
}

/** What {@link convertUnits} returns. */
export interface Conversion {
  value: number;
  from: string;
  result: number;
  to: string;
}

/**
 * Converts a length, mass or temperature between common metric and imperial units.
 *
 * @throws Error with a user-readable message for an unknown unit or units of different kinds.
 * @example
 * convertUnits(10, 'km', 'miles'); // { value: 10, from: 'km', result: 6.21371192237, to: 'mi' }
 */
export function convertUnits(value: number, from: string, to: string): Conversion {
  if (!Number.isFinite(value)) throw new Error('The value must be a finite number.');
  const source = findUnit(from);
  const target = findUnit(to);
  if (!source) throw new Error(`Unknown unit '${from}'. Known: ${UNITS.map((u) => u.symbol).join(', ')}.`);
  if (!target) throw new Error(`Unknown unit '${to}'. Known: ${UNITS.map((u) => u.symbol).join(', ')}.`);
  if (source.dimension !== target.dimension) {
    throw new Error(`Cannot convert ${source.dimension} (${source.symbol}) to ${target.dimension} (${target.symbol}).`);
  }
  const result =
    source.dimension === 'temperature'
      ? fromKelvin(toKelvin(value, source.symbol), target.symbol)
      : (value * source.factor) / target.factor;
  if (source.dimension === 'temperature' && toKelvin(value, source.symbol) < 0) {
    throw new Error('That temperature is below absolute zero.');
  }
  return { value, from: source.symbol, result: Number(result.toPrecision(12)), to: target.symbol };
}

function toKelvin(value: number, symbol: string): number {
  if (symbol === '°C') return value + 273.15;
  if (symbol === '°F') return ((value - 32) * 5) / 9 + 273.15;
  return value;
}

function fromKelvin(kelvin: number, symbol: string): number {
  if (symbol === '°C') return kelvin - 273.15;
  if (symbol === '°F') return ((kelvin - 273.15) * 9) / 5 + 32;
  return kelvin;
}
