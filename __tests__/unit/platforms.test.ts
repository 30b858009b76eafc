import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { InputError } from '../../src/errors.js'
import {
  formatPlatform,
  hostPlatform,
  nativePlatforms,
  normalizePlatform,
  parsePlatform,
  parsePlatforms,
  platformEquals,
  platformOutputKey,
  qemuArchitecture,
  type Platform
} from '../../src/platforms.js'

const FORM =
  'expected os/arch[/variant], e.g. linux/amd64, linux/arm64, linux/arm/v7; ' +
  'known architectures: amd64, arm64, arm, 386, ppc64le, ppc64, s390x, riscv64, mips64le, mips64, mipsle, mips, loong64, wasm'

const linux = (architecture: string, variant?: string): Platform =>
  variant === undefined ? { os: 'linux', architecture } : { os: 'linux', architecture, variant }

describe('parsePlatform', () => {
  test.each<[string, Platform]>([
    ['linux/amd64', linux('amd64')],
    ['  linux/arm64\t', linux('arm64')],
    ['linux/arm64/v8', linux('arm64')],
    ['linux/arm64/8', linux('arm64')],
    ['linux/arm64/v8.0', linux('arm64')],
    ['linux/arm64/v8.2', linux('arm64', 'v8.2')],
    ['linux/arm64/v9', linux('arm64', 'v9')],
    ['linux/arm64/v9.0', linux('arm64', 'v9')],
    ['linux/arm64/v9.2', linux('arm64', 'v9.2')],
    ['linux/aarch64', linux('arm64')],
    ['linux/aarch64/v8', linux('arm64')],
    ['linux/arm', linux('arm', 'v7')],
    ['linux/arm/v7', linux('arm', 'v7')],
    ['linux/arm/7', linux('arm', 'v7')],
    ['linux/arm/v6', linux('arm', 'v6')],
    ['linux/arm/v5', linux('arm', 'v5')],
    ['linux/arm/v8', linux('arm', 'v8')],
    ['linux/armhf', linux('arm', 'v7')],
    ['linux/armel', linux('arm', 'v6')],
    ['linux/x86_64', linux('amd64')],
    ['linux/x86-64', linux('amd64')],
    ['linux/amd64/v1', linux('amd64')],
    ['linux/amd64/v2', linux('amd64', 'v2')],
    ['linux/amd64/v3', linux('amd64', 'v3')],
    ['linux/amd64/v4', linux('amd64', 'v4')],
    ['linux/x86_64/v3', linux('amd64', 'v3')],
    ['linux/386', linux('386')],
    ['linux/i386', linux('386')],
    ['linux/i686', linux('386')],
    ['linux/ppc64le', linux('ppc64le')],
    ['linux/ppc64', linux('ppc64')],
    ['linux/s390x', linux('s390x')],
    ['linux/riscv64', linux('riscv64')],
    ['linux/mips64le', linux('mips64le')],
    ['linux/mips64', linux('mips64')],
    ['linux/mipsle', linux('mipsle')],
    ['linux/mips', linux('mips')],
    ['linux/loong64', linux('loong64')],
    ['linux/wasm', linux('wasm')],
    ['Linux/AMD64', linux('amd64')],
    ['LINUX/ARM/V7', linux('arm', 'v7')],
    ['linux/AArch64/V8', linux('arm64')],
    ['windows/amd64', { os: 'windows', architecture: 'amd64' }],
    ['darwin/arm64', { os: 'darwin', architecture: 'arm64' }],
    ['freebsd/amd64', { os: 'freebsd', architecture: 'amd64' }]
  ])('%j → %j', (input, expected) => {
    expect(parsePlatform(input)).toEqual(expected)
  })

  test.each<[string, string]>([
    ['linux/arm65', 'unknown architecture "arm65"'],
    ['linux//arm64', 'empty component'],
    ['linux/', 'empty component'],
    ['/amd64', 'empty component'],
    ['linux/arm/', 'empty component'],
    ['arm64', 'no OS or no architecture'],
    ['linux', 'no OS or no architecture'],
    ['', 'empty'],
    ['   ', 'empty'],
    ['linux/ amd64', 'contains whitespace'],
    ['linux /amd64', 'contains whitespace'],
    ['linux/amd64/v2/x', 'too many components'],
    ['linux/amd64/v9', 'unknown amd64 variant "v9"; known: v2, v3, v4'],
    ['linux/amd64/v0', 'unknown amd64 variant "v0"; known: v2, v3, v4'],
    ['linux/arm/v4', 'unknown arm variant "v4"; known: v5, v6, v7, v8'],
    ['linux/arm/v9', 'unknown arm variant "v9"; known: v5, v6, v7, v8'],
    [
      'linux/arm64/v10',
      'unknown arm64 variant "v10"; known: v8.1, v8.2, v8.3, v8.4, v8.5, v8.6, v8.7, v8.8, v8.9, v9, v9.1, v9.2, v9.3, v9.4, v9.5'
    ],
    ['linux/riscv64/v1', 'riscv64 takes no variant, got "v1"'],
    ['linux/386/v2', '386 takes no variant, got "v2"'],
    ['linux/s390x/z15', 's390x takes no variant, got "z15"'],
    ['linus/amd64', 'unknown OS "linus"; known: linux, windows, darwin, freebsd'],
    ['unknown/unknown', 'unknown OS "unknown"; known: linux, windows, darwin, freebsd'],
    ['amd64/linux', 'unknown OS "amd64"; known: linux, windows, darwin, freebsd'],
    ['linux,amd64', 'no OS or no architecture'],
    ['linux/amd64,linux/arm64', 'unknown architecture "amd64,linux"']
  ])('%j is rejected: %s', (input, reason) => {
    const expected = new InputError('platforms', `"${input.trim()}" is not a platform (${reason}): ${FORM}`)
    expect(() => parsePlatform(input)).toThrow(expected)
    expect(() => parsePlatform(input)).toThrow(InputError)
  })

  test('the error names the input it was given', () => {
    expect(() => parsePlatform('linux/arm65', 'extra-platforms')).toThrow(
      `Input "extra-platforms": "linux/arm65" is not a platform (unknown architecture "arm65"): ${FORM}`
    )
  })
})

describe('parsePlatforms', () => {
  test.each<[string[], Platform[]]>([
    [[], []],
    [['linux/amd64'], [linux('amd64')]],
    [
      ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      [linux('amd64'), linux('arm64'), linux('arm', 'v7')]
    ],
    [
      [' linux/arm64 ', '\tlinux/arm/v6', 'linux/386 '],
      [linux('arm64'), linux('arm', 'v6'), linux('386')]
    ],
    [
      ['linux/arm/v6', 'linux/arm/v7', 'linux/arm/v8'],
      [linux('arm', 'v6'), linux('arm', 'v7'), linux('arm', 'v8')]
    ],
    [
      ['linux/amd64', 'linux/amd64/v2', 'linux/amd64/v3'],
      [linux('amd64'), linux('amd64', 'v2'), linux('amd64', 'v3')]
    ],
    [
      ['linux/s390x', 'linux/amd64'],
      [linux('s390x'), linux('amd64')]
    ]
  ])('%j → %j', (items, expected) => {
    expect(parsePlatforms(items)).toEqual(expected)
  })

  test.each<[string[], string]>([
    [['linux/amd64', ''], `empty platform in the list (a stray or trailing comma?): ${FORM}`],
    [['', 'linux/amd64'], `empty platform in the list (a stray or trailing comma?): ${FORM}`],
    [['linux/amd64', '  '], `empty platform in the list (a stray or trailing comma?): ${FORM}`],
    [
      ['linux/arm64', 'linux/arm64/v8'],
      '"linux/arm64" and "linux/arm64/v8" are the same platform (linux/arm64); list each platform once'
    ],
    [
      ['linux/amd64', 'linux/arm64', 'linux/x86_64'],
      '"linux/amd64" and "linux/x86_64" are the same platform (linux/amd64); list each platform once'
    ],
    [
      ['linux/arm', 'linux/arm/v7'],
      '"linux/arm" and "linux/arm/v7" are the same platform (linux/arm/v7); list each platform once'
    ],
    [
      ['linux/amd64', 'Linux/AMD64'],
      '"linux/amd64" and "Linux/AMD64" are the same platform (linux/amd64); list each platform once'
    ],
    [
      [' linux/amd64/v1', 'linux/amd64 '],
      '"linux/amd64/v1" and "linux/amd64" are the same platform (linux/amd64); list each platform once'
    ],
    [['linux/amd64', 'linux/arm65'], `"linux/arm65" is not a platform (unknown architecture "arm65"): ${FORM}`]
  ])('%j is rejected', (items, detail) => {
    expect(() => parsePlatforms(items)).toThrow(new InputError('platforms', detail))
    expect(() => parsePlatforms(items)).toThrow(InputError)
  })

  test('the error names the input it was given', () => {
    expect(() => parsePlatforms(['linux/amd64', ''], 'extra-platforms')).toThrow(
      `Input "extra-platforms": empty platform in the list (a stray or trailing comma?): ${FORM}`
    )
  })
})

describe('normalizePlatform', () => {
  test.each<[Platform, Platform]>([
    [linux('amd64'), linux('amd64')],
    [linux('x86_64', 'v1'), linux('amd64')],
    [linux('aarch64', 'v8'), linux('arm64')],
    [linux('arm64', '8'), linux('arm64')],
    [linux('arm'), linux('arm', 'v7')],
    [linux('arm', ''), linux('arm', 'v7')],
    [linux('arm', '6'), linux('arm', 'v6')],
    [linux('armel'), linux('arm', 'v6')],
    [linux('i386'), linux('386')],
    [{ os: 'Linux', architecture: 'PPC64LE' }, linux('ppc64le')],
    // Registry data may carry platforms this action does not build; they pass through untouched.
    [{ os: 'unknown', architecture: 'unknown' }, { os: 'unknown', architecture: 'unknown' }],
    [linux('sparc64', 'v9'), linux('sparc64', 'v9')]
  ])('%j → %j', (input, expected) => {
    expect(normalizePlatform(input)).toEqual(expected)
  })
})

describe('formatPlatform and platformOutputKey', () => {
  test.each<[Platform | string, string, string]>([
    [linux('amd64'), 'linux/amd64', 'linux-amd64'],
    [linux('arm', 'v7'), 'linux/arm/v7', 'linux-arm-v7'],
    [linux('arm64', 'v8.2'), 'linux/arm64/v8.2', 'linux-arm64-v8-2'],
    [linux('386'), 'linux/386', 'linux-386'],
    ['linux/arm/v6', 'linux/arm/v6', 'linux-arm-v6'],
    ['linux/arm', 'linux/arm/v7', 'linux-arm-v7'],
    ['linux/arm64/v8', 'linux/arm64', 'linux-arm64'],
    ['Linux/AMD64', 'linux/amd64', 'linux-amd64'],
    [' linux/s390x ', 'linux/s390x', 'linux-s390x']
  ])('%j → %s, %s', (platform, formatted, key) => {
    const p = typeof platform === 'string' ? parsePlatform(platform) : platform
    expect(formatPlatform(p)).toEqual(formatted)
    expect(platformOutputKey(platform)).toEqual(key)
  })

  test('every digest-* output of action.yml is the key of a platform', () => {
    const actionYml = readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')
    const declared = [...actionYml.matchAll(/^ {2}digest-([a-z0-9-]+):/gm)].map((m) => m[1])
    const platforms = [
      'linux/amd64',
      'linux/arm64',
      'linux/arm/v7',
      'linux/arm/v6',
      'linux/386',
      'linux/ppc64le',
      'linux/s390x',
      'linux/riscv64'
    ]
    expect(declared).toEqual(platforms.map((p) => platformOutputKey(p)))
  })
})

describe('platformEquals', () => {
  test.each<[Platform, Platform, boolean]>([
    [linux('arm64'), linux('arm64', 'v8'), true],
    [linux('aarch64'), linux('arm64'), true],
    [linux('arm'), linux('arm', 'v7'), true],
    [linux('x86_64'), linux('amd64', 'v1'), true],
    [{ os: 'LINUX', architecture: 'AMD64' }, linux('amd64'), true],
    [linux('arm', 'v6'), linux('arm', 'v7'), false],
    [linux('amd64'), linux('amd64', 'v2'), false],
    [linux('amd64'), { os: 'windows', architecture: 'amd64' }, false],
    [linux('arm64', 'v8.2'), linux('arm64'), false]
  ])('%j = %j: %s', (a, b, equal) => {
    expect(platformEquals(a, b)).toEqual(equal)
    expect(platformEquals(b, a)).toEqual(equal)
  })
})

describe('qemuArchitecture', () => {
  test.each<[string, string | undefined]>([
    ['linux/amd64', 'x86_64'],
    ['linux/amd64/v3', 'x86_64'],
    ['linux/arm64', 'aarch64'],
    ['linux/arm64/v8.2', 'aarch64'],
    ['linux/arm/v7', 'arm'],
    ['linux/arm/v6', 'arm'],
    ['linux/arm/v5', 'arm'],
    ['linux/386', 'i386'],
    ['linux/ppc64le', 'ppc64le'],
    ['linux/ppc64', 'ppc64'],
    ['linux/s390x', 's390x'],
    ['linux/riscv64', 'riscv64'],
    ['linux/mips64le', 'mips64el'],
    ['linux/mips64', 'mips64'],
    ['linux/mipsle', 'mipsel'],
    ['linux/mips', 'mips'],
    ['linux/loong64', 'loongarch64'],
    ['linux/wasm', undefined]
  ])('%s → %s', (platform, expected) => {
    expect(qemuArchitecture(parsePlatform(platform))).toEqual(expected)
  })

  test('unnormalized platforms map through their aliases', () => {
    expect(qemuArchitecture(linux('aarch64'))).toEqual('aarch64')
    expect(qemuArchitecture(linux('sparc64'))).toEqual(undefined)
  })
})

describe('hostPlatform and nativePlatforms', () => {
  test.each<[string, Platform, Platform[]]>([
    ['x64', linux('amd64'), [linux('amd64'), linux('386')]],
    ['arm64', linux('arm64'), [linux('arm64')]],
    ['arm', linux('arm', 'v7'), [linux('arm', 'v7')]],
    ['ia32', linux('386'), [linux('386')]],
    ['ppc64', linux('ppc64le'), [linux('ppc64le')]],
    ['s390x', linux('s390x'), [linux('s390x')]],
    ['riscv64', linux('riscv64'), [linux('riscv64')]],
    ['loong64', linux('loong64'), [linux('loong64')]],
    ['mips64el', linux('mips64le'), [linux('mips64le')]],
    ['mipsel', linux('mipsle'), [linux('mipsle')]]
  ])('%s → %j, native %j', (nodeArch, host, native) => {
    expect(hostPlatform(nodeArch)).toEqual(host)
    expect(nativePlatforms(host)).toEqual(native)
  })

  test('defaults to the architecture of this process', () => {
    expect(hostPlatform()).toEqual(hostPlatform(process.arch))
  })

  test.each(['s390', 'ppc', 'sparc', ''])('%j is no known runner architecture', (nodeArch) => {
    expect(() => hostPlatform(nodeArch)).toThrow(
      new Error(`Unsupported runner architecture "${nodeArch}": no container platform is known for it`)
    )
  })

  test('an amd64 host with a microarchitecture level also runs baseline amd64', () => {
    expect(nativePlatforms(linux('amd64', 'v3'))).toEqual([linux('amd64', 'v3'), linux('amd64'), linux('386')])
    expect(nativePlatforms(linux('x86_64'))).toEqual([linux('amd64'), linux('386')])
  })
})

describe('properties', () => {
  const piece = fc.constantFrom(
    'linux', 'LINUX', 'windows', 'amd64', 'x86_64', 'arm64', 'aarch64', 'arm', 'armhf', '386', 'i686',
    's390x', 'v1', 'v2', 'v7', 'v8', 'v8.2', 'v9', '7', '/', '//', ',', ' ', '\t', '', '.', 'ä', '-'
  )
  const platformish = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''))
  const anything = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), platformish)

  test('parsePlatforms only ever throws InputError', () => {
    fc.assert(
      fc.property(fc.array(anything, { maxLength: 5 }), (items) => {
        try {
          parsePlatforms(items)
        } catch (e: unknown) {
          if (!(e instanceof InputError)) throw e
          expect(e.input).toEqual('platforms')
        }
      }),
      { numRuns: 2000 }
    )
  })

  test('an accepted platform is normalized: it formats to a string that parses to itself', () => {
    fc.assert(
      fc.property(platformish, (s) => {
        let p: Platform
        try {
          p = parsePlatform(s)
        } catch (e: unknown) {
          if (e instanceof InputError) return
          throw e
        }
        expect(parsePlatform(formatPlatform(p))).toEqual(p)
        expect(normalizePlatform(p)).toEqual(p)
        expect(formatPlatform(p)).toMatch(/^[a-z]+\/[a-z0-9]+(\/v[0-9.]+)?$/)
      }),
      { numRuns: 3000 }
    )
  })
})
