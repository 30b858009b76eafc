import { parse } from 'csv-parse/sync'
import { InputError } from './errors.js'

/**
 * One item per line, blank lines dropped. For inputs whose items contain commas
 * (cache-to, build-args, labels), so a comma never splits a value.
 */
export function lines(value: string): string[] {
  return value
    .split(/\r?\n/)
    .map(line => line.trim())
    .filter(line => line !== '')
}

/**
 * Items separated by newlines or commas, csv-aware so a quoted item keeps its commas
 * ("a,b" stays one item). Empty items are kept so callers can reject a trailing comma.
 */
export function listItems(value: string, input: string): string[] {
  const items: string[] = []
  for (const line of lines(value)) {
    let records: string[][]
    try {
      records = parse(line, { relax_quotes: true, relax_column_count: true, skip_empty_lines: true, trim: true })
    } catch {
      throw new InputError(input, `has an unbalanced quote in "${line}": expected items separated by commas or newlines, quoted with "..." when an item holds a comma`)
    }
    for (const record of records) items.push(...record)
  }
  return items
}
