import { InputError } from './errors.js'
import { isBlankYaml, loadYaml, YamlSyntaxError } from './yaml.js'
import type { Driver } from './inputs.js'
import { formatPlatform, parsePlatforms, type Platform } from './platforms.js'

/** A BuildKit node added to the builder this step creates. */
export interface AppendNode {
  /** Node name; empty lets buildx name it. */
  name: string
  /** What the builder's driver connects to: a BuildKit address for remote, a Docker endpoint or context for docker-container. */
  endpoint: string
  /** Platforms the node is pinned to, so buildx sends those platforms to it; empty lets BuildKit report them. */
  platforms: Platform[]
  driverOpts: string[]
}

const KEYS = ['name', 'endpoint', 'platforms', 'driver-opts'] as const
const EXPECTED = 'expected a YAML list of {name, endpoint, platforms, driver-opts}, e.g. "- {name: arm, endpoint: tcp://arm-builder:1234, platforms: linux/arm64}"'
// buildx's own rule for node names.
const NODE_NAME_RE = /^[a-zA-Z][a-zA-Z0-9._-]*$/

/** Parses the append input; an empty document adds no node. */
export function parseAppend(text: string, input = 'append'): AppendNode[] {
  if (isBlankYaml(text)) return []
  if (/^ *\t/m.test(text)) throw new InputError(input, `is indented with tabs, which YAML does not allow: ${EXPECTED}`)
  let doc: unknown
  try {
    doc = loadYaml(text)
  } catch (e: unknown) {
    const where = e instanceof YamlSyntaxError && e.line !== undefined ? ` at line ${e.line}` : ''
    throw new InputError(input, `is not valid YAML${where}: ${EXPECTED}`)
  }
  if (doc === null || doc === undefined) return []
  if (!Array.isArray(doc)) throw new InputError(input, `is not a YAML list: ${EXPECTED}`)

  const nodes = doc.map((item: unknown, i: number) => parseNode(item, i + 1, input))
  const seen = (pick: (node: AppendNode) => string, what: string): void => {
    const first = new Map<string, number>()
    nodes.forEach((node, i) => {
      const value = pick(node)
      if (!value) return
      const earlier = first.get(value)
      // buildx refuses a second node with the same endpoint; a second name would replace the first node.
      if (earlier !== undefined) throw new InputError(input, `items ${earlier} and ${i + 1} have the same ${what} "${value}": each node needs its own`)
      first.set(value, i + 1)
    })
  }
  seen(node => node.name, 'name')
  seen(node => node.endpoint, 'endpoint')
  return nodes
}

function parseNode(item: unknown, n: number, input: string): AppendNode {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new InputError(input, `item ${n} is not a mapping: ${EXPECTED}`)
  }
  const entry = item as Record<string, unknown>
  for (const key of Object.keys(entry)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new InputError(input, `item ${n} has an unknown key "${key}": expected ${KEYS.join(', ')}`)
    }
  }

  const endpoint = entry.endpoint
  if (typeof endpoint !== 'string' || endpoint.trim() === '') {
    throw new InputError(input, `item ${n} has no endpoint: expected e.g. endpoint: tcp://arm-builder:1234`)
  }
  if (/\s/.test(endpoint.trim()) || endpoint.trim().startsWith('-')) {
    throw new InputError(input, `item ${n} has endpoint "${endpoint}": expected an address or Docker context without spaces, e.g. tcp://arm-builder:1234`)
  }

  let name = ''
  if (entry.name !== undefined && entry.name !== null) {
    if (typeof entry.name !== 'string' || !NODE_NAME_RE.test(entry.name)) {
      throw new InputError(input, `item ${n} has name ${JSON.stringify(entry.name)}: expected a letter, then letters, digits, ".", "_" or "-"`)
    }
    name = entry.name
  }

  return {
    name,
    endpoint: endpoint.trim(),
    platforms: platformsOf(entry.platforms, n, input),
    driverOpts: driverOptsOf(entry['driver-opts'], n, input)
  }
}

function platformsOf(value: unknown, n: number, input: string): Platform[] {
  if (value === undefined || value === null) return []
  const items = Array.isArray(value) ? value : [value]
  if (!items.every(v => typeof v === 'string')) {
    throw new InputError(input, `item ${n} has platforms ${JSON.stringify(value)}: expected os/arch[/variant] strings, e.g. linux/arm64`)
  }
  const split = (items as string[]).flatMap(s => s.split(','))
  try {
    return parsePlatforms(split, input)
  } catch (e: unknown) {
    if (!(e instanceof InputError)) throw e
    throw new InputError(input, `item ${n} platforms: ${e.message.slice(`Input "${input}": `.length)}`)
  }
}

function driverOptsOf(value: unknown, n: number, input: string): string[] {
  if (value === undefined || value === null) return []
  let opts: string[]
  if (typeof value === 'string') {
    opts = value.split('\n')
  } else if (Array.isArray(value) && value.every(v => typeof v === 'string')) {
    opts = value as string[]
  } else if (typeof value === 'object' && !Array.isArray(value)) {
    opts = Object.entries(value as Record<string, unknown>).map(([key, v]) => {
      if (!['string', 'number', 'boolean'].includes(typeof v)) {
        throw new InputError(input, `item ${n} driver-opts "${key}" is not a scalar: expected key: value pairs or a list of key=value`)
      }
      return `${key}=${String(v)}`
    })
  } else {
    throw new InputError(input, `item ${n} has driver-opts ${JSON.stringify(value)}: expected a list of key=value, e.g. [cacert=ca.pem]`)
  }
  const trimmed = opts.map(o => o.trim()).filter(o => o !== '')
  for (const opt of trimmed) {
    if (!/^[^=\s]+=/.test(opt)) throw new InputError(input, `item ${n} driver-opt "${opt}" is not key=value`)
  }
  return trimmed
}

/**
 * argv that adds one node. The node takes the builder's driver (buildx refuses another), and
 * --bootstrap connects it now, so an unreachable node fails this step instead of the build.
 */
export function appendArgs(builder: string, node: AppendNode): string[] {
  const args = ['create', '--append', '--name', builder]
  if (node.name) args.push('--node', node.name)
  if (node.platforms.length > 0) args.push('--platform', node.platforms.map(formatPlatform).join(','))
  for (const opt of node.driverOpts) args.push('--driver-opt', opt)
  args.push('--bootstrap', node.endpoint)
  return args
}

/**
 * The platforms to pin on the builder's first node: those no appended node takes, so buildx
 * sends each platform to the node meant to build it. All of them when the nodes take them all.
 */
export function firstNodePlatforms(platforms: Platform[], nodes: AppendNode[]): Platform[] {
  const appended = new Set(nodes.flatMap(node => node.platforms.map(formatPlatform)))
  const rest = platforms.filter(p => !appended.has(formatPlatform(p)))
  return rest.length > 0 ? rest : platforms
}

/**
 * Nodes can only join a builder this step creates with a multi-node driver; appending to the
 * user's own builder would change it for every later job on the runner.
 */
export function checkAppendTarget(nodes: AppendNode[], target: { driver: Driver; builder: string }, input = 'append'): void {
  if (nodes.length === 0) return
  if (target.builder) {
    throw new InputError(input, `adds nodes to the builder this step creates, but builder "${target.builder}" is given: leave builder empty, or add the nodes to that builder yourself`)
  }
  if (target.driver === 'docker') {
    throw new InputError(input, 'needs a builder with several nodes, which the docker driver cannot have: use driver remote (BuildKit addresses) or docker-container (Docker endpoints)')
  }
}
