import { parse } from 'csv-parse/sync'
import { platformOutputKey, type Platform } from './platforms.js'

/**
 * Gives each gha cache entry without a scope one of its own. gha entries all share the scope
 * "buildkit" by default, so the legs of a matrix (and several images in one workflow)
 * overwrite each other's cache index; a one-platform leg gets a scope of its platform.
 */
export function scopeGhaCache(entries: string[], image: string, platforms: Platform[]): string[] {
  const [only] = platforms
  const scope = platforms.length === 1 && only ? `${image}-${platformOutputKey(only)}` : image
  return entries.map(entry => {
    const fields = csvFields(entry)
    const value = (key: string): string | undefined => {
      const field = fields.find(f => f.slice(0, f.indexOf('=')).trim().toLowerCase() === key)
      return field?.slice(field.indexOf('=') + 1).trim()
    }
    if (value('type')?.toLowerCase() !== 'gha' || value('scope') !== undefined) return entry
    return `${entry.trimEnd().replace(/,+$/, '')},scope=${scope}`
  })
}

/** The fields of one buildx CSV value, as buildx splits them (a quoted field keeps its commas). */
function csvFields(entry: string): string[] {
  const records: string[][] = parse(entry, { relax_quotes: true, relax_column_count: true, skip_empty_lines: true, trim: true })
  return (records[0] ?? []).filter(f => f.includes('='))
}
