import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { inputEnv } from '../../scripts/harness.js'
import { InputError } from '../../src/errors.js'
import { readInputs } from '../../src/inputs.js'
import { lines, listItems } from '../../src/lists.js'
import { formatPlatform, KNOWN_ARCHITECTURES } from '../../src/platforms.js'

const NUM_RUNS = 3000

// Characters on the edges of the list syntax: separators, quotes, whitespace of every kind, non-ASCII.
const edgy = fc.string({
  unit: fc.constantFrom('a', 'Z', '0', '/', ',', '"', "'", ' ', '\t', '\n', '\r', '\r\n', '\u00a0', '\u2028', ':', '@', '.', '-', '_', 'é', '🚀', '\\'),
  maxLength: 40
})
const anyText = fc.oneof(edgy, fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }))

/** An item with no list syntax in it: no comma, quote or line break, no surrounding space. */
const plainItem = fc
  .string({ unit: fc.constantFrom('a', 'b', 'Z', '0', '9', '/', ':', '@', '.', '-', '_', ' ', 'é', '🚀'), minLength: 1, maxLength: 12 })
  .map(s => s.trim())
  .filter(s => s !== '')

/** An item that needs quoting: commas, quotes and inner spaces, but no line break and no surrounding space. */
const quotableItem = fc
  .string({ unit: fc.constantFrom('a', 'b', '0', ',', '"', ' ', '/', 'é'), maxLength: 12 })
  .map(s => s.trim())

function csvField(item: string): string {
  return `"${item.replace(/"/g, '""')}"`
}

function isInputError(e: unknown, input: string): boolean {
  return e instanceof InputError && e.input === input && e.message.startsWith(`Input "${input}": `)
}

describe('lines', () => {
  // A bare CR stays inside an item: YAML has already turned it into a line feed.
  test('items are non-empty, trimmed, without a line feed, and taken from the text', () => {
    fc.assert(
      fc.property(anyText, text => {
        for (const item of lines(text)) {
          expect(item).not.toBe('')
          expect(item).toBe(item.trim())
          expect(item).not.toContain('\n')
          expect(text).toContain(item)
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  test('reading its own output again changes nothing', () => {
    fc.assert(
      fc.property(anyText, text => {
        expect(lines(lines(text).join('\n'))).toEqual(lines(text))
      }),
      { numRuns: NUM_RUNS }
    )
  })

  test('CRLF and LF line ends read the same', () => {
    fc.assert(
      fc.property(fc.array(plainItem, { maxLength: 8 }), items => {
        expect(lines(items.join('\r\n'))).toEqual(lines(items.join('\n')))
        expect(lines(items.join('\n'))).toEqual(items)
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe('listItems', () => {
  test('any text gives a list or an InputError naming the input, nothing else', () => {
    fc.assert(
      fc.property(anyText, text => {
        try {
          const items = listItems(text, 'platforms')
          expect(Array.isArray(items)).toBe(true)
          for (const item of items) expect(typeof item).toBe('string')
        } catch (e: unknown) {
          if (!isInputError(e, 'platforms')) throw e
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })

  test('plain items joined by commas, newlines and spaces come back as written', () => {
    const separator = fc.constantFrom(',', ', ', ' ,', '\n', ' \n ', '\r\n')
    fc.assert(
      fc.property(fc.array(fc.tuple(plainItem, separator), { minLength: 1, maxLength: 8 }), pairs => {
        const text = pairs.map(([item, sep], i) => (i === pairs.length - 1 ? item : item + sep)).join('')
        expect(listItems(text, 'images')).toEqual(pairs.map(([item]) => item))
      }),
      { numRuns: NUM_RUNS }
    )
  })

  test('quoted items keep their commas and quotes', () => {
    fc.assert(
      fc.property(fc.array(quotableItem, { minLength: 1, maxLength: 6 }), items => {
        expect(listItems(items.map(csvField).join(','), 'images')).toEqual(items)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  test('a trailing comma always leaves an empty last item', () => {
    fc.assert(
      fc.property(fc.array(plainItem, { minLength: 1, maxLength: 6 }), items => {
        expect(listItems(`${items.join(',')},`, 'platforms')).toEqual([...items, ''])
      }),
      { numRuns: NUM_RUNS }
    )
  })
})

describe('readInputs on random platforms and images', () => {
  let workspace: string
  const saved: Array<[string, string]> = []
  let write: typeof process.stdout.write

  beforeAll(() => {
    workspace = mkdtempSync(path.join(os.tmpdir(), 'mr-lists-'))
    writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n')
    for (const [name, value] of Object.entries(process.env)) if (name.startsWith('INPUT_') && value !== undefined) saved.push([name, value])
    // No token: nothing to mask, so thousands of runs write nothing.
    Object.assign(process.env, inputEnv({ 'github-token': '' }))
    write = process.stdout.write
    process.stdout.write = (() => true) as typeof process.stdout.write
  })

  afterAll(() => {
    process.stdout.write = write
    for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) delete process.env[name]
    for (const [name, value] of saved) process.env[name] = value
    rmSync(workspace, { recursive: true, force: true })
  })

  function readWith(name: 'INPUT_PLATFORMS' | 'INPUT_IMAGES', value: string): ReturnType<typeof readInputs> | InputError {
    const before = process.env[name]
    process.env[name] = value
    try {
      return readInputs({ workspace, repository: 'octo-org/hello-app', actor: 'octocat' })
    } catch (e: unknown) {
      if (e instanceof InputError) return e
      throw e
    } finally {
      process.env[name] = before
    }
  }

  const platformWord = fc.constantFrom(
    'linux',
    'LINUX',
    'windows',
    'darwin',
    ...KNOWN_ARCHITECTURES,
    'x86_64',
    'aarch64',
    'armhf',
    'i386',
    'v7',
    'v8',
    'v8.2',
    '7',
    'arm65'
  )
  const platformLike = fc
    .array(fc.oneof(platformWord, fc.constantFrom('/', ',', ' ', '"', '\n', '//', ', ')), { maxLength: 12 })
    .map(parts => parts.join(''))

  test('platforms: any value parses or fails with an InputError naming platforms', () => {
    fc.assert(
      fc.property(fc.oneof(platformLike, anyText), value => {
        const result = readWith('INPUT_PLATFORMS', value)
        if (result instanceof InputError) {
          expect(isInputError(result, 'platforms')).toBe(true)
          return
        }
        const formatted = result.platforms.map(formatPlatform)
        expect(formatted.length).toBeGreaterThan(0)
        expect(new Set(formatted).size).toBe(formatted.length)
        for (const p of formatted) expect(p).toMatch(/^[a-z]+\/[a-z0-9]+(\/v[0-9.]+)?$/)
      }),
      { numRuns: NUM_RUNS }
    )
  })

  const imageWord = fc.constantFrom('ghcr.io', 'GHCR.io', 'docker.io', 'localhost', '127.0.0.1:5000', '[::1]:5000', 'octo-org', 'App', 'app', 'a__b', 'a--b', '-x', 'x.', 'latest', 'sha256')
  const imageLike = fc
    .array(fc.oneof(imageWord, fc.constantFrom('/', ':', '@', ',', ' ', '"', '\n', '//', '.')), { maxLength: 10 })
    .map(parts => parts.join(''))

  test('images: any value parses or fails with an InputError naming images', () => {
    fc.assert(
      fc.property(fc.oneof(imageLike, anyText), value => {
        const result = readWith('INPUT_IMAGES', value)
        if (result instanceof InputError) {
          expect(isInputError(result, 'images')).toBe(true)
          return
        }
        expect(result.images.length).toBeGreaterThan(0)
        expect(new Set(result.images).size).toBe(result.images.length)
        for (const image of result.images) {
          expect(image).toBe(image.toLowerCase())
          expect(image).not.toMatch(/[\s,"@]/)
        }
      }),
      { numRuns: NUM_RUNS }
    )
  })
})
