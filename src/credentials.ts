import { InputError } from './errors.js'
import { canonicalRegistry } from './reference.js'
import { isBlankYaml, loadYaml, YamlSyntaxError } from './yaml.js'

export interface Credential {
  registry: string
  username: string
  password: string
}

/** host[:port] (or a bracketed IPv6 address), as a login takes it. */
export function isRegistryHost(host: string): boolean {
  return /^[A-Za-z0-9.-]+(:\d+)?$/.test(host) || /^\[[0-9a-fA-F:]+\](:\d+)?$/.test(host)
}

/** Parses the `registry-auth` YAML list; an empty document means no logins. */
export function parseRegistryAuth(text: string, input: string): Credential[] {
  if (isBlankYaml(text)) return []
  if (/^\t/m.test(text)) {
    throw new InputError(input, 'is indented with tabs: YAML needs spaces; expected a list like "- registry: ghcr.io"')
  }
  let doc: unknown
  try {
    doc = loadYaml(text, { failsafe: true })
  } catch (e: unknown) {
    // Only the line: the reason may quote a password.
    const where = e instanceof YamlSyntaxError && e.line !== undefined ? ` at line ${e.line}` : ''
    throw new InputError(input, `is not valid YAML${where}: expected a list of {registry, username, password}`)
  }
  if (doc === null || doc === undefined) return []
  if (!Array.isArray(doc)) {
    throw new InputError(input, 'is not a YAML list: expected items like "- registry: ghcr.io" with username and password')
  }
  return doc.map((item: unknown, i: number) => {
    const n = i + 1
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new InputError(input, `item ${n} is not a mapping: expected {registry, username, password}`)
    }
    const entry = item as Record<string, unknown>
    for (const key of Object.keys(entry)) {
      if (!['registry', 'username', 'password'].includes(key)) {
        // "password=S3cr3t" or "{password S3cr3t}" parse as a key without a value: never quote such a key.
        const what = entry[key] === null || entry[key] === '' ? 'a key without a value' : `an unknown key "${key}"`
        throw new InputError(input, `item ${n} has ${what}: expected registry, username and password`)
      }
    }
    const field = (key: string): string => {
      const value = entry[key]
      if (typeof value !== 'string' || value.trim() === '') {
        throw new InputError(input, `item ${n} has no ${key}: expected {registry, username, password}, each a non-empty string`)
      }
      return value.trim()
    }
    const registry = field('registry')
    if (!isRegistryHost(canonicalRegistry(registry))) {
      throw new InputError(input, `item ${n} has registry "${registry}": expected a host[:port] like ghcr.io`)
    }
    return { registry: canonicalRegistry(registry), username: field('username'), password: field('password') }
  })
}

/**
 * The logins this step makes: the explicit credentials, plus ghcr.io with the job
 * token when an image lives there and nothing else covers it.
 */
export function planLogins(explicit: Credential[], images: string[], githubToken: string, actor: string): Credential[] {
  const logins = explicit.map(c => ({ ...c, registry: canonicalRegistry(c.registry) }))
  const onGhcr = images.some(image => image.startsWith('ghcr.io/'))
  if (onGhcr && githubToken && actor && !logins.some(c => c.registry === 'ghcr.io')) {
    logins.push({ registry: 'ghcr.io', username: actor, password: githubToken })
  }
  return logins
}
