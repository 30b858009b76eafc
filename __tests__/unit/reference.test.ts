import fc from 'fast-check'
import { InputError } from '../../src/errors.js'
import { isLoopbackRegistry, parseImageName, registryHost, type ImageName } from '../../src/reference.js'

const FORM = 'expected [registry[:port]/]path, e.g. ghcr.io/owner/app, user/app, registry.example.com:5000/team/app'

// The name grammar of distribution/reference (reference.go), written out independently of the
// implementation: name := [domain '/'] path-component ['/' path-component]*
// The separator [-]* is written [-]+ (same language) to keep the regex linear in JavaScript.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*'
const NAME_RE = new RegExp(`^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)

const image = (registry: string, path: string, name: string): { image: ImageName } => ({
  image: { registry, path, name }
})

describe('parseImageName', () => {
  test.each<[string, { image: ImageName; notice?: string }]>([
    ['ghcr.io/owner/app', image('ghcr.io', 'owner/app', 'ghcr.io/owner/app')],
    ['user/app', image('docker.io', 'user/app', 'user/app')],
    ['busybox', image('docker.io', 'library/busybox', 'busybox')],
    ['docker.io/app', image('docker.io', 'library/app', 'docker.io/app')],
    ['docker.io/user/app', image('docker.io', 'user/app', 'docker.io/user/app')],
    ['docker.io/library/busybox', image('docker.io', 'library/busybox', 'docker.io/library/busybox')],
    ['index.docker.io/user/app', image('docker.io', 'user/app', 'index.docker.io/user/app')],
    ['registry.example.com:5000/team/app', image('registry.example.com:5000', 'team/app', 'registry.example.com:5000/team/app')],
    ['localhost/app', image('localhost', 'app', 'localhost/app')],
    ['localhost:5000/a/b/c', image('localhost:5000', 'a/b/c', 'localhost:5000/a/b/c')],
    ['127.0.0.1:5001/multiarch-release/fixture', image('127.0.0.1:5001', 'multiarch-release/fixture', '127.0.0.1:5001/multiarch-release/fixture')],
    ['[::1]:5000/app', image('[::1]:5000', 'app', '[::1]:5000/app')],
    ['my-registry.internal/app', image('my-registry.internal', 'app', 'my-registry.internal/app')],
    ['ghcr.io/app', image('ghcr.io', 'app', 'ghcr.io/app')],
    ['ghcr.io', image('docker.io', 'library/ghcr.io', 'ghcr.io')],
    ['ghcr.io/owner/a__b/c.d/e-f/g--h/i_j', image('ghcr.io', 'owner/a__b/c.d/e-f/g--h/i_j', 'ghcr.io/owner/a__b/c.d/e-f/g--h/i_j')],
    ['  ghcr.io/owner/app\n', image('ghcr.io', 'owner/app', 'ghcr.io/owner/app')],
    ['GHCR.IO/owner/app', image('ghcr.io', 'owner/app', 'ghcr.io/owner/app')],
    [
      'ghcr.io/Owner/App',
      { ...image('ghcr.io', 'owner/app', 'ghcr.io/owner/app'), notice: 'images: "ghcr.io/Owner/App" lower-cased to "ghcr.io/owner/app"' }
    ],
    [
      'Owner/App',
      { ...image('docker.io', 'owner/app', 'owner/app'), notice: 'images: "Owner/App" lower-cased to "owner/app"' }
    ],
    [
      'Docker.io/BusyBox',
      { ...image('docker.io', 'library/busybox', 'docker.io/busybox'), notice: 'images: "Docker.io/BusyBox" lower-cased to "docker.io/busybox"' }
    ],
    [`ghcr.io/${'a'.repeat(247)}`, image('ghcr.io', 'a'.repeat(247), `ghcr.io/${'a'.repeat(247)}`)]
  ])('%j → %j', (raw, expected) => {
    expect(parseImageName(raw)).toEqual(expected)
  })

  test('the notice names the input it was given', () => {
    expect(parseImageName('ghcr.io/Owner/App', 'cache-image')).toEqual({
      ...image('ghcr.io', 'owner/app', 'ghcr.io/owner/app'),
      notice: 'cache-image: "ghcr.io/Owner/App" lower-cased to "ghcr.io/owner/app"'
    })
  })

  const TAGS = 'tags come from the git ref and the tags input'
  const DIGEST = 'sha256:' + '0123456789abcdef'.repeat(4)
  test.each<[string, string]>([
    ['app:1.0', `"app:1.0" has a tag: give the image name without one ("app"); ${TAGS}`],
    ['ghcr.io/owner/app:latest', `"ghcr.io/owner/app:latest" has a tag: give the image name without one ("ghcr.io/owner/app"); ${TAGS}`],
    ['localhost:5000/app:v1', `"localhost:5000/app:v1" has a tag: give the image name without one ("localhost:5000/app"); ${TAGS}`],
    ['localhost:5000', `"localhost:5000" has a tag: give the image name without one ("localhost"); ${TAGS}`],
    [`app@${DIGEST}`, `"app@${DIGEST}" has a digest: give the image name without one ("app"); ${TAGS}`],
    [`ghcr.io/o/app@${DIGEST}`, `"ghcr.io/o/app@${DIGEST}" has a digest: give the image name without one ("ghcr.io/o/app"); ${TAGS}`],
    ['Bad Name', `"Bad Name" is not an image name (contains whitespace): ${FORM}`],
    ['ghcr.io/owner/ app', `"ghcr.io/owner/ app" is not an image name (contains whitespace): ${FORM}`],
    ['', `"" is not an image name (empty): ${FORM}`],
    ['  ', `"" is not an image name (empty): ${FORM}`],
    ['host:port:extra/app', `"host:port:extra/app" is not an image name ("host:port:extra" is not a registry host): ${FORM}`],
    ['my_host.com/app', `"my_host.com/app" is not an image name ("my_host.com" is not a registry host): ${FORM}`],
    ['-host.com/app', `"-host.com/app" is not an image name ("-host.com" is not a registry host): ${FORM}`],
    ['ghcr.io:/app', `"ghcr.io:/app" is not an image name ("ghcr.io:" is not a registry host): ${FORM}`],
    ['ghcr.io//app', `"ghcr.io//app" is not an image name (empty path component): ${FORM}`],
    ['app/', `"app/" is not an image name (empty path component): ${FORM}`],
    ['/app', `"/app" is not an image name (empty path component): ${FORM}`],
    ['ghcr.io/', `"ghcr.io/" is not an image name (empty path component): ${FORM}`],
    [
      'ghcr.io/owner/-app',
      `"ghcr.io/owner/-app" is not an image name ("-app" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"): ${FORM}`
    ],
    [
      'ghcr.io/owner/app_',
      `"ghcr.io/owner/app_" is not an image name ("app_" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"): ${FORM}`
    ],
    [
      'owner/a___b',
      `"owner/a___b" is not an image name ("a___b" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"): ${FORM}`
    ],
    [
      'ghcr.io/owner/app:',
      `"ghcr.io/owner/app:" is not an image name ("app:" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"): ${FORM}`
    ],
    [
      'owner/app$',
      `"owner/app$" is not an image name ("app$" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"): ${FORM}`
    ],
    [
      'app@latest',
      `"app@latest" is not an image name ("app@latest" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"): ${FORM}`
    ],
    [`ghcr.io/${'a'.repeat(248)}`, `"ghcr.io/${'a'.repeat(248)}" is not an image name (longer than 255 characters): ${FORM}`]
  ])('%j is rejected', (raw, detail) => {
    expect(() => parseImageName(raw)).toThrow(new InputError('images', detail))
    expect(() => parseImageName(raw)).toThrow(InputError)
  })

  test.each([
    `ghcr.io/${'a'.repeat(240)}$`,
    `${'a1'.repeat(120)}-`,
    `owner/${'a_'.repeat(120)}_`
  ])('a long name with one bad character at the end is rejected quickly: %s', (raw) => {
    const started = Date.now()
    expect(() => parseImageName(raw)).toThrow(InputError)
    expect(Date.now() - started).toBeLessThan(100)
  })

  test('the error names the input it was given', () => {
    expect(() => parseImageName('app:1.0', 'cache-image')).toThrow(
      `Input "cache-image": "app:1.0" has a tag: give the image name without one ("app"); ${TAGS}`
    )
  })
})

describe('registryHost', () => {
  test.each<[string, string]>([
    ['ghcr.io/owner/app', 'ghcr.io'],
    ['GHCR.io/Owner/App', 'ghcr.io'],
    ['user/app', 'docker.io'],
    ['busybox', 'docker.io'],
    ['app:1.0', 'docker.io'],
    ['docker.io/user/app', 'docker.io'],
    ['index.docker.io/user/app', 'docker.io'],
    ['ghcr.io/owner/app:1.0', 'ghcr.io'],
    ['registry.example.com:5000/team/app@sha256:abc', 'registry.example.com:5000'],
    ['localhost/app', 'localhost'],
    ['localhost:5000/app', 'localhost:5000'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000'],
    ['[::1]:5000/app', '[::1]:5000'],
    [' quay.io/org/app ', 'quay.io']
  ])('%j → %s', (raw, host) => {
    expect(registryHost(raw)).toEqual(host)
  })
})

describe('isLoopbackRegistry', () => {
  test.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.0.0.1:5000', true],
    ['127.1.2.3:443', true],
    ['127.255.255.255', true],
    ['localhost', true],
    ['localhost:5001', true],
    ['LocalHost:5001', true],
    ['[::1]', true],
    ['[::1]:5000', true],
    ['127.0.0.256', false],
    ['127.0.0', false],
    ['128.0.0.1', false],
    ['10.0.0.1:5000', false],
    ['127.0.0.1.nip.io', false],
    ['localhost.example.com', false],
    ['mylocalhost', false],
    ['[::2]:5000', false],
    ['[fe80::1]', false],
    ['ghcr.io', false],
    ['docker.io', false],
    ['', false]
  ])('%j → %s', (host, loopback) => {
    expect(isLoopbackRegistry(host)).toEqual(loopback)
  })
})

describe('properties', () => {
  const piece = fc.constantFrom(
    'a', 'Z', '0', '9', 'app', 'owner', 'ghcr.io', 'localhost', 'docker.io', '[::1]', '.', '_', '__', '-', '--',
    '/', '//', ':', ':5000', '@', '@sha256:abc', ' ', 'é', '$'
  )
  const nameish = fc.array(piece, { maxLength: 10 }).map((parts) => parts.join(''))
  const anything = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ maxLength: 300 }), nameish)

  test('parseImageName only ever throws InputError', () => {
    fc.assert(
      fc.property(anything, (raw) => {
        try {
          parseImageName(raw)
        } catch (e: unknown) {
          if (!(e instanceof InputError)) throw e
          expect(e.input).toEqual('images')
        }
      }),
      { numRuns: 3000 }
    )
  })

  test('whatever parseImageName accepts matches the reference grammar', () => {
    fc.assert(
      fc.property(nameish, (raw) => {
        let parsed: { image: ImageName; notice?: string }
        try {
          parsed = parseImageName(raw)
        } catch (e: unknown) {
          if (e instanceof InputError) return
          throw e
        }
        const { registry, path, name } = parsed.image
        expect(name).toMatch(NAME_RE)
        expect(name.length).toBeLessThanOrEqual(255)
        expect(name).toEqual(raw.trim().toLowerCase())
        expect(`${registry}/${path}`).toMatch(NAME_RE)
        expect(registryHost(raw)).toEqual(registry)
        expect(parseImageName(name)).toEqual({ image: parsed.image })
      }),
      { numRuns: 5000 }
    )
  })
})
