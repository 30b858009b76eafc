import { platformDigests } from './digests.js'
import type { Docker } from './docker.js'
import { InputError, tail } from './errors.js'
import { formatPlatform, normalizePlatform, parsePlatform, type Platform } from './platforms.js'
import { isObject } from './json.js'

const EXPECTED_FORMS =
  'expected the build jobs\' outputs as JSON ({"digest-linux-amd64": "sha256:...", "digest-linux-arm64": "sha256:..."}, ' +
  'as toJSON(needs.<job>.outputs) gives them), a digests map ({"linux/amd64": "sha256:..."}) ' +
  'or lines of platform=sha256:...'

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/
const OUTPUT_PREFIX = 'digest-'
const ATTESTATION_TYPE = 'vnd.docker.reference.type'
const ATTESTATION_SUBJECT = 'vnd.docker.reference.digest'
const INDEX_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
]
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'

interface Entry {
  /** How the platform was written (a JSON key or the left side of a line), for messages. */
  key: string
  platform: string
  value: unknown
}

/**
 * Reads the merge-digests input into normalized platform → digest. Keys that name no
 * digest output (digest, version, tags, ...) are skipped so a job's whole outputs object can
 * be passed; empty values are skipped because a matrix job output a leg did not set is empty.
 */
export function parseMergeDigests(text: string, input = 'merge-digests'): Record<string, string> {
  const trimmed = text.trim()
  if (trimmed === '') throw new InputError(input, `is empty, nothing to merge: ${EXPECTED_FORMS}`)
  const entries = /^[[{"]/.test(trimmed) ? jsonEntries(trimmed, input) : lineEntries(trimmed, input)

  const digests: Record<string, string> = {}
  const keyOf = new Map<string, string>()
  for (const { key, platform: written, value } of entries) {
    if (value === '' || value === null) continue
    if (typeof value !== 'string') {
      throw new InputError(input, `"${key}" is ${JSON.stringify(value)}, not a digest string: ${EXPECTED_FORMS}`)
    }
    const platform = keyPlatform(key, written, input)
    const digest = value.trim()
    if (!DIGEST_RE.test(digest)) {
      throw new InputError(input, `"${key}" has "${digest}", which is not a digest: expected sha256: and 64 lower-case hex digits`)
    }
    const first = keyOf.get(platform)
    if (first !== undefined) {
      throw new InputError(input, `"${first}" and "${key}" both name ${platform}: give one digest per platform`)
    }
    keyOf.set(platform, key)
    digests[platform] = digest
  }
  if (keyOf.size === 0) throw new InputError(input, `names no digest, nothing to merge: ${EXPECTED_FORMS}`)
  return digests
}

function jsonEntries(text: string, input: string): Entry[] {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e: unknown) {
    throw new InputError(input, `is not valid JSON (${e instanceof Error ? e.message : String(e)}): ${EXPECTED_FORMS}`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InputError(input, `is JSON but not an object: ${EXPECTED_FORMS}`)
  }
  const entries: Entry[] = []
  for (const [key, value] of Object.entries(doc)) {
    const platform = platformOfKey(key)
    if (platform !== undefined) entries.push({ key, platform, value })
  }
  return entries
}

function lineEntries(text: string, input: string): Entry[] {
  // Neither digests nor platforms contain commas, so a one-line list may use them too.
  return text
    .split(/[\n,]/)
    .map(item => item.trim())
    .filter(item => item !== '')
    .map(item => {
      const eq = item.indexOf('=')
      const key = eq < 0 ? '' : item.slice(0, eq).trim()
      const platform = platformOfKey(key)
      if (platform === undefined) {
        throw new InputError(input, `"${item}" is not platform=sha256:...: ${EXPECTED_FORMS}`)
      }
      return { key, platform, value: item.slice(eq + 1).trim() }
    })
}

/** The platform a key names as written, or undefined for keys that are no digest of a platform. */
function platformOfKey(key: string): string | undefined {
  if (key.startsWith(OUTPUT_PREFIX)) return outputKeyPlatform(key.slice(OUTPUT_PREFIX.length))
  if (key.includes('/')) return key
  return undefined
}

/**
 * Undoes platformOutputKey: "linux-arm-v7" is linux/arm/v7 and "linux-arm64-v8-2" is
 * linux/arm64/v8.2, since no known OS or architecture contains a "-" and only a variant a ".".
 */
function outputKeyPlatform(suffix: string): string {
  const [os = '', architecture = '', ...variant] = suffix.split('-')
  return [os, architecture, variant.join('.')].filter(part => part !== '').join('/')
}

function keyPlatform(key: string, written: string, input: string): string {
  try {
    return formatPlatform(parsePlatform(written, input))
  } catch (e: unknown) {
    if (!(e instanceof InputError)) throw e
    const detail = e.message.slice(`Input "${input}": `.length)
    const hint = key.startsWith(OUTPUT_PREFIX) ? ' (output keys are digest-<os>-<arch>[-<variant>], like digest-linux-arm-v7)' : ''
    throw new InputError(input, `"${key}" names no known platform${hint}: ${detail}`)
  }
}

/** argv of `docker buildx imagetools create` for every tag at once: one index, pushed under each. */
export function imagetoolsCreateArgs(refs: string[], sources: string[], annotations: string[]): string[] {
  return [
    'imagetools',
    'create',
    ...refs.flatMap(ref => ['--tag', ref]),
    ...annotations.flatMap(annotation => ['--annotation', annotation]),
    ...sources
  ]
}

/**
 * The --output of a push by digest. buildx reads the value as one CSV record, so several
 * names must be quoted as a whole field ("name=a,b"); name="a,b" is rejected as a bare quote.
 */
export function pushByDigestOutput(images: string[]): string {
  if (images.length === 0) throw new Error('pushByDigestOutput: no image to push to')
  const name = images.length === 1 ? `name=${images[0]}` : `"name=${images.join(',')}"`
  return `type=image,${name},push-by-digest=true,name-canonical=true,push=true`
}

export interface IndexAnnotations {
  /** `index:key=value`, generated first and the user's after, one per key (the later wins). */
  annotations: string[]
  /** User annotations imagetools create cannot write (anything but `index:`), as given. */
  skipped: string[]
}

/**
 * The annotations of a merged index. imagetools create (buildx 0.13) writes only index
 * annotations and fails on any other kind, so the rest of the user's are set aside.
 */
export function indexAnnotations(generated: Record<string, string>, user: string[]): IndexAnnotations {
  const merged = new Map<string, string>(Object.entries(generated))
  const skipped: string[] = []
  for (const annotation of user) {
    const match = /^index:([^=]+)=(.*)$/s.exec(annotation.trim())
    if (!match) {
      skipped.push(annotation)
      continue
    }
    merged.delete(match[1]!)
    merged.set(match[1]!, match[2]!)
  }
  return { annotations: [...merged].map(([key, value]) => `index:${key}=${value}`), skipped }
}

/** One platform of the merge, as found in the registry. */
export interface Leg {
  platform: string
  /** The digest as given: the platform's image manifest, or an index holding it. */
  digest: string
  /** The platform's image manifest. */
  manifest: string
  /** Attestation manifests the leg's index holds for that image manifest. */
  attestations: string[]
}

interface Descriptor {
  digest: string
  platform?: string
  attestationOf?: string
}

/**
 * Checks that each digest exists in the image's repository and holds an image of the platform
 * it is named for, by the os/architecture/variant of the image config. Reports every bad
 * digest at once, so one failed merge run shows all of them.
 */
export async function checkLegs(docker: Docker, image: string, digests: Record<string, string>): Promise<Leg[]> {
  const platformsOf = new Map<string, string[]>()
  for (const [platform, digest] of Object.entries(digests)) {
    platformsOf.set(digest, [...(platformsOf.get(digest) ?? []), platform])
  }
  const checked = await Promise.all(
    [...platformsOf].map(async ([digest, platforms]) => {
      try {
        return { legs: await checkDigest(docker, image, digest, platforms), problems: [] }
      } catch (e: unknown) {
        if (e instanceof LegProblems) return { legs: [], problems: e.problems }
        throw e
      }
    })
  )
  const problems = checked.flatMap(c => c.problems)
  if (problems.length > 0) {
    throw new Error(`Cannot merge into ${image}:\n${problems.map(p => `- ${p}`).join('\n')}`)
  }
  const byPlatform = new Map(checked.flatMap(c => c.legs).map(leg => [leg.platform, leg]))
  return Object.keys(digests).map(platform => byPlatform.get(platform)!)
}

class LegProblems extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'))
  }
}

async function checkDigest(docker: Docker, image: string, digest: string, platforms: string[]): Promise<Leg[]> {
  const named = platforms.join(', ')
  const ref = `${image}@${digest}`
  const inspected = await docker.buildx(['imagetools', 'inspect', '--raw', ref], { silent: true, allowFailure: true })
  if (inspected.exitCode !== 0) {
    const detail = tail(inspected.stderr || inspected.stdout, 3)
    throw new LegProblems([
      /not found/i.test(detail)
        ? `${named}: ${digest} does not exist in ${image}`
        : `${named}: cannot read ${digest} from ${image}: ${detail}`
    ])
  }
  const doc = parseJson(inspected.stdout)
  if (Array.isArray(doc?.manifests) && (doc.mediaType === undefined || INDEX_MEDIA_TYPES.includes(String(doc.mediaType)))) {
    return checkIndex(docker, image, digest, platforms, doc.manifests.map(descriptor))
  }
  if (doc?.config === undefined) {
    throw new LegProblems([`${named}: ${digest} in ${image} is neither an image index nor an image manifest`])
  }
  if (platforms.length > 1) {
    throw new LegProblems([`${named}: ${digest} is a single image manifest, so it cannot be the image of ${platforms.length} platforms`])
  }
  const platform = platforms[0]!
  const actual = await configPlatform(docker, ref)
  if (actual !== platform) {
    throw new LegProblems([`${platform}: ${digest} is an image for ${actual}, not ${platform}`])
  }
  return [{ platform, digest, manifest: digest, attestations: [] }]
}

async function checkIndex(docker: Docker, image: string, digest: string, platforms: string[], entries: Descriptor[]): Promise<Leg[]> {
  const images = entries.filter(e => e.platform !== undefined && e.attestationOf === undefined)
  const held = images.map(e => e.platform!)
  const absent = platforms.filter(p => !held.includes(p))
  if (absent.length > 0) {
    throw new LegProblems(absent.map(p => `${p}: ${digest} is an index of ${held.join(', ') || 'no image'}, not of ${p}`))
  }
  if (held.some(p => !platforms.includes(p))) {
    // Merging the index would bring its other platforms in too.
    throw new LegProblems([
      `${platforms.join(', ')}: ${digest} is an index of ${held.join(', ')}; name it for each of its platforms, ` +
        `or give the image manifest digest of ${platforms.join(', ')}`
    ])
  }
  const problems: string[] = []
  const legs: Leg[] = []
  for (const platform of platforms) {
    const entry = images.find(e => e.platform === platform)!
    const actual = await configPlatform(docker, `${image}@${entry.digest}`)
    if (actual !== platform) {
      problems.push(`${platform}: ${digest} holds ${entry.digest}, an image for ${actual}, not ${platform}`)
      continue
    }
    const attestations = entries.filter(e => e.attestationOf === entry.digest).map(e => e.digest)
    legs.push({ platform, digest, manifest: entry.digest, attestations })
  }
  if (problems.length > 0) throw new LegProblems(problems)
  return legs
}

/** os/architecture[/variant] from the image config, normalized, or "unknown" parts when absent. */
async function configPlatform(docker: Docker, ref: string): Promise<string> {
  const result = await docker.buildx(['imagetools', 'inspect', '--format', '{{json .Image}}', ref], { silent: true })
  const config = parseJson(result.stdout)
  const os = typeof config?.os === 'string' && config.os ? config.os : 'unknown'
  const architecture = typeof config?.architecture === 'string' && config.architecture ? config.architecture : 'unknown'
  const variant = typeof config?.variant === 'string' && config.variant ? config.variant : undefined
  const platform: Platform = variant ? { os, architecture, variant } : { os, architecture }
  return formatPlatform(normalizePlatform(platform))
}

function descriptor(entry: unknown): Descriptor {
  const e = isObject(entry) ? entry : {}
  const d: Descriptor = { digest: typeof e.digest === 'string' ? e.digest : '' }
  const annotations = isObject(e.annotations) ? e.annotations : {}
  if (annotations[ATTESTATION_TYPE] === 'attestation-manifest' && typeof annotations[ATTESTATION_SUBJECT] === 'string') {
    d.attestationOf = annotations[ATTESTATION_SUBJECT]
  }
  const p = isObject(e.platform) ? e.platform : undefined
  if (p && typeof p.os === 'string' && typeof p.architecture === 'string' && p.os !== 'unknown') {
    const variant = typeof p.variant === 'string' && p.variant ? p.variant : undefined
    d.platform = formatPlatform(normalizePlatform({ os: p.os, architecture: p.architecture, ...(variant ? { variant } : {}) }))
  }
  return d
}

export interface MergeSpec {
  /** Image names; the legs are read from the first. */
  images: string[]
  /** Full image:tag references to push the index under. */
  refs: string[]
  /** Normalized platform → digest, as parseMergeDigests returns it. */
  digests: Record<string, string>
  /** `--annotation` values, index: ones only (see indexAnnotations). */
  annotations: string[]
}

export interface MergeResult {
  /** The index pushed under every ref. */
  digest: string
  /** Platform → image manifest digest in the index, in the order of the input. */
  digests: Record<string, string>
  /** Things the step should warn about; the merge itself succeeded. */
  warnings: string[]
}

/**
 * Creates one index from the legs under every ref and checks, by reading it back, that it
 * holds exactly the legs' image manifests and their attestations.
 */
export async function mergeRelease(docker: Docker, spec: MergeSpec): Promise<MergeResult> {
  const [image] = spec.images
  if (image === undefined || spec.refs.length === 0) throw new Error('mergeRelease: no image or no tag to push the index under')
  const legs = await checkLegs(docker, image, spec.digests)
  const sources = [...new Set(legs.map(leg => `${image}@${leg.digest}`))]
  await docker.buildx(imagetoolsCreateArgs(spec.refs, sources, spec.annotations))

  // imagetools create prints no digest; the tag just pushed names it.
  const pushed = await docker.buildx(['imagetools', 'inspect', '--format', '{{json .Manifest}}', spec.refs[0]!], { silent: true })
  const digest = parseJson(pushed.stdout)?.digest
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest)) {
    throw new Error(`Cannot read the digest of ${spec.refs[0]} after pushing it: ${pushed.stdout.trim().slice(0, 200)}`)
  }
  const raw = (await docker.buildx(['imagetools', 'inspect', '--raw', `${repository(spec.refs[0]!)}@${digest}`], { silent: true })).stdout
  const platforms = legs.map(leg => parsePlatform(leg.platform))
  const found = platformDigests(raw, digest, platforms)

  const problems: string[] = []
  for (const leg of legs) {
    const inIndex = found.platforms[leg.platform]
    if (inIndex !== leg.manifest) problems.push(`${leg.platform} is ${inIndex ?? 'missing'}, not the leg's ${leg.manifest}`)
    for (const attestation of leg.attestations) {
      if (!found.attestations.includes(attestation)) problems.push(`the attestation ${attestation} of ${leg.platform} is missing`)
    }
  }
  for (const platform of Object.keys(found.platforms)) {
    if (!legs.some(leg => leg.platform === platform)) problems.push(`${platform} is in it but in no leg`)
  }
  if (problems.length > 0) {
    throw new Error(`The index ${digest} pushed as ${spec.refs.join(', ')} is not the merge of the legs:\n${problems.map(p => `- ${p}`).join('\n')}`)
  }

  const warnings: string[] = []
  if (spec.annotations.length > 0 && parseJson(raw)?.mediaType === DOCKER_LIST) {
    warnings.push(
      'every leg is a Docker image manifest (built with provenance off), so buildx wrote a Docker manifest list, ' +
        'which has no annotations: the index annotations were left out'
    )
  }
  return { digest, digests: Object.fromEntries(legs.map(leg => [leg.platform, leg.manifest])), warnings }
}

/** image:tag → image; a ":" before the last "/" is a registry port, not a tag. */
function repository(ref: string): string {
  const colon = ref.lastIndexOf(':')
  return colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const doc: unknown = JSON.parse(text)
    return isObject(doc) ? doc : undefined
  } catch {
    return undefined
  }
}
