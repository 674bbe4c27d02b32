/** Builds the bench's tables, for the console and for RESULTS.md (both Markdown). */

/** A table: a title, column headers and rows of cells. */
export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  /** Lines printed under the table. */
  notes?: string[];
}

/** A target of the summary with its measured value. */
export interface TargetRow {
  target: string;
  measured: string;
  pass: boolean | undefined;
}

/** Renders a table as Markdown. */
export function renderTable(table: Table): string {
  const widths = table.headers.map((header, i) =>
    Math.max(header.length, ...table.rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const out = [
    `### ${table.title}`,
    '',
    line(table.headers),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...table.rows.map(line),
  ];
  if (table.notes?.length) out.push('', ...table.notes);
  return out.join('\n');
}

/** The PASS/MISS summary table. */
export function summaryTable(rows: TargetRow[]): Table {
  return {
    title: 'Summary against the targets',
    headers: ['Target', 'Measured', 'Result'],
    rows: rows.map((row) => [row.target, row.measured, row.pass === undefined ? 'n/a' : row.pass ? 'PASS' : 'MISS']),
  };
}
