import { InputError } from '../../src/errors.js'
import { imagetoolsCreateArgs, indexAnnotations, parseMergeDigests, pushByDigestOutput } from '../../src/merge.js'

const A = `sha256:${'a'.repeat(64)}`
const B = `sha256:${'b'.repeat(64)}`
const C = `sha256:${'0123456789abcdef'.repeat(4)}`

/** The runtime's own JSON.parse message, which differs between Node versions. */
function jsonError(text: string): string {
  try {
    JSON.parse(text)
  } catch (e: unknown) {
    return (e as Error).message
  }
  throw new Error(`${text} is valid JSON`)
}

describe('parseMergeDigests', () => {
  test.each<[string, string, Record<string, string>]>([
    [
      'the legs\' job outputs as toJSON gives them',
      JSON.stringify({ 'digest-linux-amd64': A, 'digest-linux-arm64': B }),
      { 'linux/amd64': A, 'linux/arm64': B }
    ],
    [
      'job outputs with unrelated keys and outputs no leg set',
      JSON.stringify({
        digest: C,
        digests: JSON.stringify({ 'linux/arm64': B }),
        version: '1.2.3',
        'digest-linux-amd64': A,
        'digest-linux-arm-v7': '',
        'digest-linux-arm64': B
      }),
      { 'linux/amd64': A, 'linux/arm64': B }
    ],
    ['an output key with a variant', JSON.stringify({ 'digest-linux-arm-v7': C }), { 'linux/arm/v7': C }],
    ['an output key with a dotted variant', JSON.stringify({ 'digest-linux-arm64-v8-2': C }), { 'linux/arm64/v8.2': C }],
    ['a digests map', `{"linux/amd64":"${A}","linux/arm/v7":"${B}"}`, { 'linux/amd64': A, 'linux/arm/v7': B }],
    ['a digests map with aliases', JSON.stringify({ 'linux/x86_64': A, 'linux/aarch64': B, 'linux/arm': C }), { 'linux/amd64': A, 'linux/arm64': B, 'linux/arm/v7': C }],
    ['JSON with surrounding whitespace', `\n  {"linux/amd64": "${A}"}\n`, { 'linux/amd64': A }],
    ['lines', `linux/amd64=${A}\nlinux/arm64=${B}\n`, { 'linux/amd64': A, 'linux/arm64': B }],
    ['lines with blanks, spaces and CRLF', `\r\n  linux/amd64 = ${A}\r\n\r\nlinux/arm/v7=${B}  \r\n`, { 'linux/amd64': A, 'linux/arm/v7': B }],
    ['one comma-separated line', `linux/amd64=${A},linux/arm64=${B}`, { 'linux/amd64': A, 'linux/arm64': B }],
    ['lines with output keys', `digest-linux-arm-v7=${C}`, { 'linux/arm/v7': C }],
    ['lines with an empty digest', `linux/amd64=${A}\nlinux/arm64=`, { 'linux/amd64': A }],
    ['the order of the input', `linux/arm64=${B}\nlinux/amd64=${A}`, { 'linux/arm64': B, 'linux/amd64': A }]
  ])('%s', (_name, text, expected) => {
    const parsed = parseMergeDigests(text)
    expect(parsed).toEqual(expected)
    expect(Object.keys(parsed)).toEqual(Object.keys(expected))
  })

  const forms =
    'expected the build jobs\' outputs as JSON ({"digest-linux-amd64": "sha256:...", "digest-linux-arm64": "sha256:..."}, ' +
    'as toJSON(needs.<job>.outputs) gives them), a digests map ({"linux/amd64": "sha256:..."}) or lines of platform=sha256:...'

  test.each<[string, string, string]>([
    ['empty', '  \n ', `Input "merge-digests": is empty, nothing to merge: ${forms}`],
    ['only unrelated keys', JSON.stringify({ digest: A, version: '1.2.3' }), `Input "merge-digests": names no digest, nothing to merge: ${forms}`],
    ['only empty outputs', JSON.stringify({ 'digest-linux-amd64': '', 'digest-linux-arm64': '' }), `Input "merge-digests": names no digest, nothing to merge: ${forms}`],
    ['bad JSON', `{"linux/amd64": "${A}",}`, `Input "merge-digests": is not valid JSON (${jsonError(`{"linux/amd64": "${A}",}`)}): ${forms}`],
    ['a JSON list', `["${A}"]`, `Input "merge-digests": is JSON but not an object: ${forms}`],
    ['a JSON string', '"x"', `Input "merge-digests": is JSON but not an object: ${forms}`],
    ['a non-string value', JSON.stringify({ 'digest-linux-amd64': 5 }), `Input "merge-digests": "digest-linux-amd64" is 5, not a digest string: ${forms}`],
    ['a short digest', JSON.stringify({ 'linux/amd64': 'sha256:abc' }), 'Input "merge-digests": "linux/amd64" has "sha256:abc", which is not a digest: expected sha256: and 64 lower-case hex digits'],
    ['a digest without algorithm', `linux/amd64=${'a'.repeat(64)}`, `Input "merge-digests": "linux/amd64" has "${'a'.repeat(64)}", which is not a digest: expected sha256: and 64 lower-case hex digits`],
    ['an upper-case digest', `linux/amd64=sha256:${'A'.repeat(64)}`, `Input "merge-digests": "linux/amd64" has "sha256:${'A'.repeat(64)}", which is not a digest: expected sha256: and 64 lower-case hex digits`],
    ['a line without =', `linux/amd64 ${A}`, `Input "merge-digests": "linux/amd64 ${A}" is not platform=sha256:...: ${forms}`],
    ['a line with a bare word', `amd64=${A}`, `Input "merge-digests": "amd64=${A}" is not platform=sha256:...: ${forms}`],
    [
      'an unknown platform in a line',
      `linux/arm65=${A}`,
      'Input "merge-digests": "linux/arm65" names no known platform: "linux/arm65" is not a platform (unknown architecture "arm65"): ' +
        'expected os/arch[/variant], e.g. linux/amd64, linux/arm64, linux/arm/v7; known architectures: amd64, arm64, arm, 386, ppc64le, ' +
        'ppc64, s390x, riscv64, mips64le, mips64, mipsle, mips, loong64, wasm'
    ],
    [
      'an unknown platform in an output key',
      JSON.stringify({ 'digest-plan9-amd64': A }),
      'Input "merge-digests": "digest-plan9-amd64" names no known platform (output keys are digest-<os>-<arch>[-<variant>], like digest-linux-arm-v7): ' +
        '"plan9/amd64" is not a platform (unknown OS "plan9"; known: linux, windows, darwin, freebsd): expected os/arch[/variant], ' +
        'e.g. linux/amd64, linux/arm64, linux/arm/v7; known architectures: amd64, arm64, arm, 386, ppc64le, ppc64, s390x, riscv64, ' +
        'mips64le, mips64, mipsle, mips, loong64, wasm'
    ],
    [
      'an output key without architecture',
      JSON.stringify({ 'digest-linux': A }),
      'Input "merge-digests": "digest-linux" names no known platform (output keys are digest-<os>-<arch>[-<variant>], like digest-linux-arm-v7): ' +
        '"linux" is not a platform (no OS or no architecture): expected os/arch[/variant], e.g. linux/amd64, linux/arm64, linux/arm/v7; ' +
        'known architectures: amd64, arm64, arm, 386, ppc64le, ppc64, s390x, riscv64, mips64le, mips64, mipsle, mips, loong64, wasm'
    ],
    ['a platform twice in lines', `linux/amd64=${A}\nlinux/amd64=${B}`, 'Input "merge-digests": "linux/amd64" and "linux/amd64" both name linux/amd64: give one digest per platform'],
    ['a platform twice through an alias', JSON.stringify({ 'linux/arm': A, 'linux/arm/v7': A }), 'Input "merge-digests": "linux/arm" and "linux/arm/v7" both name linux/arm/v7: give one digest per platform'],
    ['a platform as output key and map key', JSON.stringify({ 'digest-linux-amd64': A, 'linux/amd64': B }), 'Input "merge-digests": "digest-linux-amd64" and "linux/amd64" both name linux/amd64: give one digest per platform']
  ])('%s fails', (_name, text, message) => {
    let thrown: unknown
    try {
      parseMergeDigests(text)
    } catch (e: unknown) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(InputError)
    expect((thrown as InputError).message).toBe(message)
    expect((thrown as InputError).input).toBe('merge-digests')
  })

  test('errors name the input they were given', () => {
    expect(() => parseMergeDigests('', 'digests')).toThrow(`Input "digests": is empty, nothing to merge: ${forms}`)
  })
})

describe('imagetoolsCreateArgs', () => {
  test.each<[string, string[], string[], string[], string[]]>([
    [
      'two tags, two legs, annotations',
      ['r.example/app:1.2.3', 'r.example/app:latest'],
      [`r.example/app@${A}`, `r.example/app@${B}`],
      ['index:org.opencontainers.image.version=1.2.3', 'index:org.opencontainers.image.revision=abc'],
      [
        'imagetools', 'create',
        '--tag', 'r.example/app:1.2.3', '--tag', 'r.example/app:latest',
        '--annotation', 'index:org.opencontainers.image.version=1.2.3',
        '--annotation', 'index:org.opencontainers.image.revision=abc',
        `r.example/app@${A}`, `r.example/app@${B}`
      ]
    ],
    [
      'tags in two images, no annotation',
      ['a.example/app:1', 'b.example/team/app:1'],
      [`a.example/app@${A}`],
      [],
      ['imagetools', 'create', '--tag', 'a.example/app:1', '--tag', 'b.example/team/app:1', `a.example/app@${A}`]
    ],
    [
      'an annotation value with commas and spaces stays one argument',
      ['r:5000/app:1'],
      [`r:5000/app@${A}`],
      ['index:org.opencontainers.image.description=fast, small app'],
      ['imagetools', 'create', '--tag', 'r:5000/app:1', '--annotation', 'index:org.opencontainers.image.description=fast, small app', `r:5000/app@${A}`]
    ]
  ])('%s', (_name, refs, sources, annotations, expected) => {
    expect(imagetoolsCreateArgs(refs, sources, annotations)).toEqual(expected)
  })
})

describe('pushByDigestOutput', () => {
  test.each<[string[], string]>([
    [['ghcr.io/o/app'], 'type=image,name=ghcr.io/o/app,push-by-digest=true,name-canonical=true,push=true'],
    [['127.0.0.1:5001/e2e/app'], 'type=image,name=127.0.0.1:5001/e2e/app,push-by-digest=true,name-canonical=true,push=true'],
    [
      ['ghcr.io/o/app', 'docker.io/o/app'],
      'type=image,"name=ghcr.io/o/app,docker.io/o/app",push-by-digest=true,name-canonical=true,push=true'
    ],
    [
      ['a.example/x', 'b.example/y', 'c.example:5000/z'],
      'type=image,"name=a.example/x,b.example/y,c.example:5000/z",push-by-digest=true,name-canonical=true,push=true'
    ]
  ])('%j', (images, expected) => {
    expect(pushByDigestOutput(images)).toBe(expected)
  })

  test('no image is a programming error', () => {
    expect(() => pushByDigestOutput([])).toThrow('pushByDigestOutput: no image to push to')
  })
})

describe('indexAnnotations', () => {
  const oci = { 'org.opencontainers.image.version': '1.2.3', 'org.opencontainers.image.revision': 'abc' }
  test.each<[string, Record<string, string>, string[], { annotations: string[]; skipped: string[] }]>([
    [
      'generated only',
      oci,
      [],
      { annotations: ['index:org.opencontainers.image.version=1.2.3', 'index:org.opencontainers.image.revision=abc'], skipped: [] }
    ],
    [
      'the user\'s index annotation wins over a generated one and comes after',
      oci,
      ['index:org.opencontainers.image.version=v1.2.3-custom', 'index:org.opencontainers.image.description=an app, small'],
      {
        annotations: [
          'index:org.opencontainers.image.revision=abc',
          'index:org.opencontainers.image.version=v1.2.3-custom',
          'index:org.opencontainers.image.description=an app, small'
        ],
        skipped: []
      }
    ],
    [
      'annotations imagetools create cannot write are set aside',
      {},
      ['org.opencontainers.image.title=app', 'manifest:org.opencontainers.image.title=app', 'manifest-descriptor:a=b', 'index-descriptor:a=b', 'index:a=b'],
      {
        annotations: ['index:a=b'],
        skipped: ['org.opencontainers.image.title=app', 'manifest:org.opencontainers.image.title=app', 'manifest-descriptor:a=b', 'index-descriptor:a=b']
      }
    ],
    ['an empty value is kept', {}, ['index:a='], { annotations: ['index:a='], skipped: [] }]
  ])('%s', (_name, generated, user, expected) => {
    expect(indexAnnotations(generated, user)).toEqual(expected)
  })
})
