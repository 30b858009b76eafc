import { readFileSync } from 'node:fs'
import { missingPlatforms, platformDigests, type PlatformDigests } from '../../src/digests.js'
import { formatPlatform, normalizePlatform, parsePlatforms, type Platform } from '../../src/platforms.js'

// Captured by __tests__/fixtures/capture.sh from real buildx pushes.
const FIXTURES = new URL('../fixtures/buildx/', import.meta.url)

interface Expected {
  topDigest: string
  platforms: Record<string, string>
  attestations: string[]
}

interface Captured {
  raw: string
  topDigest: string
  expected: Expected
}

function captured(shape: string): Captured {
  const read = (suffix: string): string => readFileSync(new URL(`${shape}.${suffix}`, FIXTURES), 'utf8')
  const metadata = JSON.parse(read('metadata.json')) as Record<string, unknown>
  const expected = JSON.parse(read('expected.json')) as Expected
  // The expected keys are the os/architecture/variant of each config blob, as written there;
  // a base image whose arm64 config says variant v8 would otherwise differ only in spelling.
  const platforms = Object.fromEntries(
    Object.entries(expected.platforms).map(([key, digest]) => {
      const [os = '', architecture = '', variant] = key.split('/')
      return [formatPlatform(normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) })), digest]
    })
  )
  return {
    raw: read('raw.json'),
    topDigest: metadata['containerimage.digest'] as string,
    expected: { ...expected, platforms }
  }
}

const THREE = parsePlatforms(['linux/amd64', 'linux/arm64', 'linux/arm/v7'])
const AMD64 = parsePlatforms(['linux/amd64'])

describe('platformDigests on captured buildx output', () => {
  test.each<[string, Platform[], number]>([
    ['attestations', THREE, 3],
    ['manifest-list', THREE, 0],
    ['single', AMD64, 0]
  ])('%s', (shape, requested, attestationCount) => {
    const { raw, topDigest, expected } = captured(shape)
    expect(topDigest).toEqual(expected.topDigest)
    const found = platformDigests(raw, topDigest, requested)
    expect(found).toEqual({ platforms: expected.platforms, attestations: expected.attestations })
    expect(Object.keys(found.platforms)).toEqual(requested.map(formatPlatform))
    expect(found.attestations).toHaveLength(attestationCount)
    expect(missingPlatforms(found, requested)).toEqual([])
  })

  test('the platforms follow the requested order, not the index order', () => {
    const { raw, topDigest, expected } = captured('attestations')
    const requested = parsePlatforms(['linux/arm/v7', 'linux/amd64', 'linux/arm64'])
    const found = platformDigests(raw, topDigest, requested)
    expect(Object.entries(found.platforms)).toEqual([
      ['linux/arm/v7', expected.platforms['linux/arm/v7']],
      ['linux/amd64', expected.platforms['linux/amd64']],
      ['linux/arm64', expected.platforms['linux/arm64']]
    ])
  })

  test('platforms built but not requested come after the requested ones', () => {
    const { raw, topDigest, expected } = captured('manifest-list')
    const found = platformDigests(raw, topDigest, parsePlatforms(['linux/arm64']))
    expect(Object.entries(found.platforms)).toEqual([
      ['linux/arm64', expected.platforms['linux/arm64']],
      ['linux/amd64', expected.platforms['linux/amd64']],
      ['linux/arm/v7', expected.platforms['linux/arm/v7']]
    ])
  })

  test.each<[string, Platform[], string[]]>([
    ['attestations', parsePlatforms(['linux/amd64', 'linux/s390x', 'linux/arm64']), ['linux/s390x']],
    ['manifest-list', parsePlatforms(['linux/arm/v6', 'linux/arm/v7', 'linux/riscv64']), ['linux/arm/v6', 'linux/riscv64']],
    ['single', parsePlatforms(['linux/arm64']), []]
  ])('missingPlatforms on %s for %j', (shape, requested, missing) => {
    const { raw, topDigest } = captured(shape)
    // A single manifest is attributed to the one requested platform; it cannot be missing.
    expect(missingPlatforms(platformDigests(raw, topDigest, requested), requested)).toEqual(missing)
  })
})

describe('platformDigests on variations of the captured index', () => {
  type Entry = { digest: string; platform?: Record<string, string>; annotations?: Record<string, string> }
  const variant = (shape: string, edit: (entries: Entry[]) => Entry[]): Captured => {
    const c = captured(shape)
    const doc = JSON.parse(c.raw) as { manifests: Entry[] }
    return { ...c, raw: JSON.stringify({ ...doc, manifests: edit(doc.manifests) }) }
  }
  const other = 'sha256:' + 'f'.repeat(64)

  test('a platform listed twice keeps its first digest', () => {
    const { raw, topDigest, expected } = variant('manifest-list', (m) => [...m, { ...m[1]!, digest: other }])
    expect(platformDigests(raw, topDigest, THREE).platforms).toEqual(expected.platforms)
  })

  test('platforms are normalized: arm64/v8 is linux/arm64, arm without variant is arm/v7', () => {
    const { raw, topDigest, expected } = variant('manifest-list', (m): Entry[] => [
      { ...m[0]!, platform: { os: 'linux', architecture: 'x86_64' } },
      { ...m[1]!, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { ...m[2]!, platform: { os: 'linux', architecture: 'arm' } }
    ])
    expect(platformDigests(raw, topDigest, THREE).platforms).toEqual(expected.platforms)
  })

  test('an attestation is recognized by its unknown/unknown platform alone', () => {
    const { raw, topDigest, expected } = variant('attestations', (m) =>
      m.map(({ annotations: _annotations, ...entry }) => entry)
    )
    expect(platformDigests(raw, topDigest, THREE)).toEqual({
      platforms: expected.platforms,
      attestations: expected.attestations
    })
  })

  test('an attestation is recognized by its annotation alone', () => {
    const { raw, topDigest, expected } = variant('attestations', (m) =>
      m.map((entry) =>
        entry.annotations ? { ...entry, platform: { os: 'linux', architecture: 'amd64' } } : entry
      )
    )
    expect(platformDigests(raw, topDigest, THREE)).toEqual({
      platforms: expected.platforms,
      attestations: expected.attestations
    })
  })

  test('an entry without a platform is skipped', () => {
    const { raw, topDigest, expected } = variant('manifest-list', (m) => [
      { digest: other },
      ...m
    ])
    expect(platformDigests(raw, topDigest, THREE).platforms).toEqual(expected.platforms)
  })

  test('an index without mediaType is recognized by its shape', () => {
    const { raw, topDigest, expected } = captured('attestations')
    const doc = JSON.parse(raw) as Record<string, unknown>
    delete doc.mediaType
    expect(platformDigests(JSON.stringify(doc), topDigest, THREE)).toEqual({
      platforms: expected.platforms,
      attestations: expected.attestations
    })
  })
})

describe('platformDigests on input that is no index or manifest', () => {
  const TOP = 'sha256:' + '0'.repeat(64)

  test.each<[string, string]>([
    ['', `The manifest of ${TOP} is not JSON (Unexpected end of JSON input): (empty)`],
    ['null', `The manifest of ${TOP} is not an image index or manifest: null`],
    ['[]', `The manifest of ${TOP} is not an image index or manifest: []`],
    ['"sha256:abc"', `The manifest of ${TOP} is not an image index or manifest: "sha256:abc"`],
    ['{}', `The manifest of ${TOP} is not an image index or manifest: {}`],
    [
      '{"schemaVersion":1,"name":"app","fsLayers":[]}',
      `The manifest of ${TOP} is not an image index or manifest: {"schemaVersion":1,"name":"app","fsLayers":[]}`
    ],
    [
      '{"mediaType":"application/vnd.oci.image.config.v1+json","config":{}}',
      `The manifest of ${TOP} is not an image index or manifest (media type application/vnd.oci.image.config.v1+json): {"mediaType":"application/vnd.oci.image.config.v1+json","config":{}}`
    ],
    [
      '{"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}',
      `The manifest of ${TOP} is not an image index or manifest (media type application/vnd.oci.image.manifest.v1+json): {"mediaType":"application/vnd.oci.image.manifest.v1+json","manifests":[]}`
    ],
    [
      '{"manifests":[{"platform":{"os":"linux","architecture":"amd64"}}]}',
      `Entry 0 of the index ${TOP} is not a descriptor with a digest: {"platform":{"os":"linux","architecture":"amd64"}}`
    ],
    ['{"manifests":[null]}', `Entry 0 of the index ${TOP} is not a descriptor with a digest: null`],
    [
      '{"manifests":[{"digest":"not a digest"}]}',
      `Entry 0 of the index ${TOP} is not a descriptor with a digest: {"digest":"not a digest"}`
    ]
  ])('%j', (raw, message) => {
    let thrown: unknown
    try {
      platformDigests(raw, TOP, AMD64)
    } catch (e: unknown) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(Error)
    expect((thrown as Error).message).toEqual(message)
  })

  test('a long document is cut in the message', () => {
    const raw = JSON.stringify({ schemaVersion: 1, history: 'x'.repeat(500) })
    expect(() => platformDigests(raw, TOP, AMD64)).toThrow(
      new Error(`The manifest of ${TOP} is not an image index or manifest: ${raw.slice(0, 200)}…`)
    )
  })

  test.each<[Platform[], string]>([
    [THREE, `${TOP} is a single image manifest, but 3 platforms were requested (linux/amd64, linux/arm64, linux/arm/v7): cannot tell which platform it is`],
    [[], `${TOP} is a single image manifest, but 0 platforms were requested (none): cannot tell which platform it is`]
  ])('a single manifest for %j platforms cannot be attributed', (requested, message) => {
    const { raw } = captured('single')
    expect(() => platformDigests(raw, TOP, requested)).toThrow(new Error(message))
  })
})

describe('missingPlatforms', () => {
  const found: PlatformDigests = {
    platforms: { 'linux/amd64': 'sha256:1', 'linux/arm/v7': 'sha256:2' },
    attestations: []
  }
  test.each<[string[], string[]]>([
    [['linux/amd64', 'linux/arm/v7'], []],
    [['linux/amd64', 'linux/arm64'], ['linux/arm64']],
    [['linux/arm', 'linux/x86_64'], []],
    [['linux/s390x', 'linux/amd64', 'linux/arm/v6'], ['linux/s390x', 'linux/arm/v6']],
    [[], []]
  ])('%j → %j', (requested, missing) => {
    expect(missingPlatforms(found, parsePlatforms(requested))).toEqual(missing)
  })
})
