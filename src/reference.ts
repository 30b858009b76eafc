import { InputError } from './errors.js'

export interface ImageName {
  /** Registry host, with its port when given; docker.io when the name has none. */
  registry: string
  /** Repository path inside the registry; Docker Hub official images get library/. */
  path: string
  /** The name as written, lower-cased: the form tags are built from and shown to the user. */
  name: string
}

export const DOCKER_HUB = 'docker.io'

/** The names Docker Hub answers under: its index, its registry API, its token service and web host. */
const DOCKER_HUB_HOSTS = new Set([DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io', 'auth.docker.io', 'registry.hub.docker.com'])

/**
 * A registry as logins, credentials and messages name it: lower-cased, without scheme or
 * trailing path (`docker login` stores Docker Hub under https://index.docker.io/v1/), and
 * every Docker Hub alias as docker.io.
 */
export function canonicalRegistry(host: string): string {
  const bare = host.trim().toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '').replace(/\/v[12]$/, '')
  return DOCKER_HUB_HOSTS.has(bare) ? DOCKER_HUB : bare
}

// The name grammar of distribution/reference, on lower-cased input. Its path separator
// "[-]*" is written "-+" here: the same language, but without the empty alternative that makes
// a backtracking engine take exponential time on a long name with one bad character at the end.
const DOMAIN_COMPONENT = '(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])'
const DOMAIN_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-f0-9:]+\\])(?::[0-9]+)?$`)
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const NAME_MAX_LENGTH = 255

const EXPECTED_FORM =
  'expected [registry[:port]/]path, e.g. ghcr.io/owner/app, user/app, registry.example.com:5000/team/app'

/**
 * Parses one entry of the images input: a name without tag or digest. Upper case is folded
 * because registries reject it, and the user is told so they can fix the workflow.
 */
export function parseImageName(raw: string, input = 'images'): { image: ImageName; notice?: string } {
  const value = raw.trim()
  const fail = (reason: string): never => {
    throw new InputError(input, `"${value}" is not an image name (${reason}): ${EXPECTED_FORM}`)
  }
  if (value === '') fail('empty')
  if (/\s/.test(value)) fail('contains whitespace')
  if (value.length > NAME_MAX_LENGTH) fail(`longer than ${NAME_MAX_LENGTH} characters`)

  const digest = /@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.exec(value)
  const named = digest ? value.slice(0, digest.index) : value
  const { domain, remainder } = splitDomain(named)
  const last = remainder.slice(remainder.lastIndexOf('/') + 1)
  const colon = last.indexOf(':')
  const tagged = colon >= 0 && /^\w[\w.-]{0,127}$/.test(last.slice(colon + 1))
  if (digest || tagged) {
    const bare = tagged ? named.slice(0, named.length - last.length + colon) : named
    throw new InputError(
      input,
      `"${value}" has ${digest ? 'a digest' : 'a tag'}: give the image name without one ("${bare}"); ` +
        'tags come from the git ref and the tags input'
    )
  }

  const registry = domain === undefined ? DOCKER_HUB : domain.toLowerCase()
  if (!DOMAIN_RE.test(registry)) fail(`"${domain}" is not a registry host`)
  const components = remainder.split('/')
  for (const component of components) {
    if (component === '') fail('empty path component')
    if (!PATH_COMPONENT_RE.test(component.toLowerCase())) {
      fail(`"${component}" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"`)
    }
  }

  const lowerPath = remainder.toLowerCase()
  const isHub = canonicalRegistry(registry) === DOCKER_HUB
  const path = isHub && components.length === 1 ? `library/${lowerPath}` : lowerPath
  const name = value.toLowerCase()
  const image: ImageName = { registry: isHub ? DOCKER_HUB : registry, path, name }
  if (lowerPath !== remainder) {
    return { image, notice: `${input}: "${value}" lower-cased to "${name}"` }
  }
  return { image }
}

/** Registry host of an image name or reference, for logging in; docker.io when it has none. */
export function registryHost(image: string): string {
  const { domain } = splitDomain(image.trim())
  if (domain === undefined) return DOCKER_HUB
  return canonicalRegistry(domain)
}

/** True for registries BuildKit and imagetools reach over plain HTTP without being told. */
export function isLoopbackRegistry(host: string): boolean {
  const h = host.trim().toLowerCase()
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(h)
  if (bracketed) return bracketed[1] === '::1'
  const name = h.replace(/:\d+$/, '')
  if (name === 'localhost') return true
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name)
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255)
}

// As docker's splitDockerDomain: the first component names a registry only when it looks
// like a host, so "user/app" stays a Docker Hub repository.
function splitDomain(value: string): { domain?: string; remainder: string } {
  const slash = value.indexOf('/')
  if (slash < 0) return { remainder: value }
  const first = value.slice(0, slash)
  if (first.includes('.') || first.includes(':') || first.toLowerCase() === 'localhost') {
    return { domain: first, remainder: value.slice(slash + 1) }
  }
  return { remainder: value }
}
