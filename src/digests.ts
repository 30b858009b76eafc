import { formatPlatform, normalizePlatform, type Platform } from './platforms.js'
import { isObject, excerpt } from './json.js'

export interface PlatformDigests {
  /** Normalized platform ('linux/arm/v7') → image manifest digest; requested platforms first, in requested order. */
  platforms: Record<string, string>
  /** Digests of the attestation manifests in the index. */
  attestations: string[]
}

const INDEX_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json'
]
const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json'
]
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/

interface Descriptor {
  digest: string
  platform?: Platform
  annotations?: Record<string, unknown>
}

/**
 * Maps each built platform to its image manifest digest, from the output of
 * `docker buildx imagetools inspect --raw <image>@<topDigest>`.
 */
export function platformDigests(raw: string, topDigest: string, requested: Platform[]): PlatformDigests {
  let doc: unknown
  try {
    doc = JSON.parse(raw)
  } catch (e: unknown) {
    throw new Error(
      `The manifest of ${topDigest} is not JSON (${e instanceof Error ? e.message : String(e)}): ${excerpt(raw)}`,
      { cause: e }
    )
  }
  if (!isObject(doc)) {
    throw new Error(`The manifest of ${topDigest} is not an image index or manifest: ${excerpt(raw)}`)
  }
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : undefined

  // The OCI spec makes mediaType optional, so the shape decides when it is absent.
  if (Array.isArray(doc.manifests) && (mediaType === undefined || INDEX_MEDIA_TYPES.includes(mediaType))) {
    return fromIndex(doc.manifests, topDigest, requested)
  }
  if (isObject(doc.config) && (mediaType === undefined || MANIFEST_MEDIA_TYPES.includes(mediaType))) {
    return fromManifest(topDigest, requested)
  }
  throw new Error(
    `The manifest of ${topDigest} is not an image index or manifest` +
      (mediaType ? ` (media type ${mediaType})` : '') +
      `: ${excerpt(raw)}`
  )
}

/** Requested platforms the build did not produce, formatted, in requested order. */
export function missingPlatforms(found: PlatformDigests, requested: Platform[]): string[] {
  return requested
    .map((p) => formatPlatform(normalizePlatform(p)))
    .filter((key) => !Object.hasOwn(found.platforms, key))
}

function fromIndex(entries: unknown[], topDigest: string, requested: Platform[]): PlatformDigests {
  const found = new Map<string, string>()
  const attestations: string[] = []
  entries.forEach((entry, i) => {
    const descriptor = toDescriptor(entry)
    if (descriptor === undefined) {
      throw new Error(`Entry ${i} of the index ${topDigest} is not a descriptor with a digest: ${excerpt(JSON.stringify(entry))}`)
    }
    const { digest, platform, annotations } = descriptor
    const attestation =
      annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
      (platform?.os === 'unknown' && platform.architecture === 'unknown')
    if (attestation) {
      attestations.push(digest)
      return
    }
    // An entry without a platform cannot be attributed to one; it is no build output of ours.
    if (platform === undefined) return
    const key = formatPlatform(normalizePlatform(platform))
    if (!found.has(key)) found.set(key, digest)
  })
  return { platforms: ordered(found, requested), attestations }
}

function fromManifest(topDigest: string, requested: Platform[]): PlatformDigests {
  // A plain manifest says nothing of its platform; only a one-platform build can produce it.
  if (requested.length !== 1) {
    throw new Error(
      `${topDigest} is a single image manifest, but ${requested.length} platforms were requested ` +
        `(${requested.map(formatPlatform).join(', ') || 'none'}): cannot tell which platform it is`
    )
  }
  const [only] = requested as [Platform]
  return { platforms: { [formatPlatform(normalizePlatform(only))]: topDigest }, attestations: [] }
}

function ordered(found: Map<string, string>, requested: Platform[]): Record<string, string> {
  const platforms: Record<string, string> = {}
  for (const p of requested) {
    const key = formatPlatform(normalizePlatform(p))
    const digest = found.get(key)
    if (digest !== undefined) platforms[key] = digest
  }
  for (const [key, digest] of found) {
    if (!Object.hasOwn(platforms, key)) platforms[key] = digest
  }
  return platforms
}

function toDescriptor(entry: unknown): Descriptor | undefined {
  if (!isObject(entry) || typeof entry.digest !== 'string' || !DIGEST_RE.test(entry.digest)) return undefined
  const descriptor: Descriptor = { digest: entry.digest }
  const platform = entry.platform
  if (isObject(platform) && typeof platform.os === 'string' && typeof platform.architecture === 'string') {
    descriptor.platform = {
      os: platform.os,
      architecture: platform.architecture,
      ...(typeof platform.variant === 'string' && platform.variant !== '' ? { variant: platform.variant } : {})
    }
  }
  if (isObject(entry.annotations)) descriptor.annotations = entry.annotations
  return descriptor
}
