import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Docker } from './docker.js'
import { formatPlatform, normalizePlatform, type Platform } from './platforms.js'
import { imagePlatforms, mapLimit, markdownTable, provides, textTable, type ImagePlatforms } from './preflight.js'
import { isObject } from './json.js'
import { loadYaml, YamlSyntaxError } from './yaml.js'

export interface ComposeImage {
  service: string
  image: string
  /** The service's `platform:`, normalized; it then needs only that one. */
  platform?: string
}

export interface ComposeFile {
  images: ComposeImage[]
  /** Services not checked, and why. */
  notes: string[]
}

/**
 * The images a compose file pulls. Variables are interpolated as compose does (`${VAR}`,
 * `${VAR:-default}`, `${VAR-default}`, `$VAR`, `$$`) from `env`. A service with `build:` is
 * built, not pulled (its `image:` only names the result), so it is skipped with a note.
 */
export function parseCompose(text: string, env: Record<string, string | undefined> = {}, file = 'compose file'): ComposeFile {
  let doc: unknown
  try {
    doc = loadYaml(text)
  } catch (e: unknown) {
    if (!(e instanceof YamlSyntaxError)) throw e
    throw new Error(`${file} is ${e.message}: ${e.reason}`, { cause: e })
  }
  if (!isObject(doc) || !isObject(doc.services)) {
    throw new Error(`${file} has no services map: expected a docker-compose file with "services:"`)
  }
  const images: ComposeImage[] = []
  const notes: string[] = []
  for (const [service, spec] of Object.entries(doc.services)) {
    if (!isObject(spec)) {
      notes.push(`${service}: not a mapping, skipped`)
      continue
    }
    if (spec.build !== undefined && spec.build !== null) {
      notes.push(`${service}: built from source (build:), not pulled; skipped`)
      continue
    }
    if (typeof spec.image !== 'string' || spec.image.trim() === '') {
      notes.push(`${service}: no image, skipped`)
      continue
    }
    const image = interpolate(spec.image, env).trim()
    if (image === '' || /:$|\/$|^[:/]/.test(image)) {
      notes.push(`${service}: image "${spec.image}" is incomplete once its variables are substituted ("${image}"), skipped`)
      continue
    }
    const entry: ComposeImage = { service, image }
    if (typeof spec.platform === 'string' && spec.platform.trim() !== '') {
      const [os = '', architecture = '', variant] = interpolate(spec.platform, env).trim().split('/')
      entry.platform = formatPlatform(normalizePlatform(variant ? { os, architecture, variant } : { os, architecture }))
    }
    images.push(entry)
  }
  return { images, notes }
}

/** Compose's variable substitution; an unset variable without default becomes empty. */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$'
      const name = braced ?? bare!
      const value = env[name]
      const set = value !== undefined
      const nonEmpty = set && value !== ''
      switch (op) {
        case ':-':
          return nonEmpty ? value! : interpolate(word ?? '', env)
        case '-':
          return set ? value! : interpolate(word ?? '', env)
        case ':+':
          return nonEmpty ? interpolate(word ?? '', env) : ''
        case '+':
          return set ? interpolate(word ?? '', env) : ''
        default:
          return value ?? ''
      }
    }
  )
}

export interface ComposeCheck extends ComposeImage {
  /** Platforms it is checked for: the requested ones, or the service's own platform. */
  needs: string[]
  has: string[]
  missing: string[]
  error?: string
}

export interface ComposeReport {
  services: ComposeCheck[]
  notes: string[]
  /** False when a service image lacks a platform it needs; a failed lookup alone leaves it true. */
  ok: boolean
  /** One line per gap or failed lookup. */
  problems: string[]
  warnings: string[]
  markdown: string
  text: string
}

/** Builds the report from the parsed file and the lookups; pure. */
export function composeReportOf(parsed: ComposeFile, requested: Platform[], lookups: ReadonlyMap<string, ImagePlatforms>): ComposeReport {
  const wanted = requested.map(p => formatPlatform(normalizePlatform(p)))
  const services: ComposeCheck[] = parsed.images.map(entry => {
    const found = lookups.get(entry.image) ?? { platforms: [], error: 'not looked up' }
    const needs = entry.platform ? [entry.platform] : wanted
    const check: ComposeCheck = {
      ...entry,
      needs,
      has: found.platforms,
      missing: found.error ? [] : needs.filter(p => !found.platforms.some(h => provides(h, p)))
    }
    if (found.error) check.error = found.error
    return check
  })
  const problems = services
    .filter(s => s.missing.length > 0)
    .map(s => `service ${s.service}: ${s.image} has no ${s.missing.join(', ')} image (it has ${s.has.join(', ') || 'none'})`)
  const warnings = services.filter(s => s.error).map(s => `service ${s.service}: could not look up the platforms of ${s.image}: ${s.error}`)
  const cell = (s: ComposeCheck, p: string): string => {
    if (s.error) return '?'
    if (!s.needs.includes(p)) return `n/a (platform: ${s.platform})`
    return s.missing.includes(p) ? 'missing' : 'yes'
  }
  const header = ['service', 'image', ...wanted]
  const rows = services.map(s => [s.service, s.image, ...wanted.map(p => cell(s, p))])
  // A pinned platform outside the requested ones still gets its column, so its gap shows.
  for (const extra of [...new Set(services.flatMap(s => s.needs))].filter(p => !wanted.includes(p))) {
    header.push(extra)
    services.forEach((s, i) => rows[i]!.push(s.needs.includes(extra) ? cell(s, extra) : ''))
  }
  const markdownRows = rows.map(row => row.map((c, i) => (i >= 2 && c === 'missing' ? '**missing**' : c)))
  const markdown = [
    markdownTable(header, markdownRows, [1]),
    ...(parsed.notes.length ? ['', ...parsed.notes.map(n => `- ${n}`)] : [])
  ].join('\n')
  return {
    services,
    notes: parsed.notes,
    ok: problems.length === 0,
    problems,
    warnings,
    markdown,
    text: textTable(header, rows)
  }
}

/**
 * Checks that every image a compose file pulls has the requested platforms (or its service's
 * own `platform:`). One imagetools lookup per distinct image, a few at a time.
 */
export async function composeReport(
  docker: Docker,
  text: string,
  requested: Platform[],
  options: { env?: Record<string, string | undefined>; file?: string; concurrency?: number } = {}
): Promise<ComposeReport> {
  const parsed = parseCompose(text, options.env ?? {}, options.file)
  const distinct = [...new Set(parsed.images.map(i => i.image))]
  const lookups = new Map<string, ImagePlatforms>()
  await mapLimit(distinct, options.concurrency ?? 4, async image => {
    lookups.set(image, await imagePlatforms(docker, image))
  })
  return composeReportOf(parsed, requested, lookups)
}

/**
 * `composeReport` for a file on disk, with the variables compose would use: the `.env` file
 * beside it, overridden by the process environment.
 */
export async function composeFileReport(docker: Docker, file: string, requested: Platform[], concurrency = 4): Promise<ComposeReport> {
  const text = fs.readFileSync(file, 'utf8')
  const dotenvFile = path.join(path.dirname(file), '.env')
  const dotenv = fs.existsSync(dotenvFile) ? parseDotEnv(fs.readFileSync(dotenvFile, 'utf8')) : {}
  const env = { ...dotenv, ...(process.env as Record<string, string | undefined>) }
  return composeReport(docker, text, requested, { env, file: path.basename(file), concurrency })
}

/** A compose `.env` file: NAME=value lines, `#` comments, optional quotes and `export `. */
export function parseDotEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line)
    if (!m) continue
    let value = m[2]!
    const quoted = /^(["'])(.*)\1$/.exec(value)
    if (quoted) value = quoted[1] === '"' ? quoted[2]!.replace(/\\n/g, '\n') : quoted[2]!
    else value = value.replace(/\s+#.*$/, '')
    env[m[1]!] = value
  }
  return env
}
