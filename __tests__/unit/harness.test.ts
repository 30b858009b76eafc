import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { load } from 'js-yaml'
import {
  DEFAULT_GITHUB_TOKEN,
  actionDefaults,
  inputEnv,
  inputEnvName,
  parseCommandFile,
  parseMasks,
  runAction
} from '../../scripts/harness.js'

describe('parseCommandFile', () => {
  test.each<[string, string, Record<string, string>]>([
    ['empty file', '', {}],
    ['one line', 'version=1.2.3\n', { version: '1.2.3' }],
    ['value holding = and <<', 'a=b=c<<d\n', { a: 'b=c<<d' }],
    ['empty value', 'empty=\n', { empty: '' }],
    ['later name wins', 'x=1\nx=2\n', { x: '2' }],
    ['CRLF', 'a=1\r\nb=2\r\n', { a: '1', b: '2' }],
    [
      'heredoc as @actions/core writes it',
      'tags<<ghadelimiter_5f0c\nreg/app:1.2.3\nreg/app:latest\nghadelimiter_5f0c\n',
      { tags: 'reg/app:1.2.3\nreg/app:latest' }
    ],
    ['heredoc with empty value', 'summary<<EOF\nEOF\n', { summary: '' }],
    ['heredoc keeps blank lines and =', 'm<<D\n\na=b\n\nD\n', { m: '\na=b\n' }],
    ['= before << makes a plain line', 'k=v<<D\n', { k: 'v<<D' }],
    [
      'both forms mixed',
      'digest=sha256:abc\nmetadata<<ghadelimiter_1\n{\n  "a": 1\n}\nghadelimiter_1\nversion=1.2.3\n',
      { digest: 'sha256:abc', metadata: '{\n  "a": 1\n}', version: '1.2.3' }
    ]
  ])('%s', (_name, text, expected) => {
    expect(parseCommandFile(text)).toEqual(expected)
  })

  test.each([
    ['no = and no <<', 'garbage\n'],
    ['empty name', '=value\n'],
    ['unclosed heredoc', 'a<<EOF\nline\n'],
    ['heredoc without delimiter', 'a<<\nx\n']
  ])('rejects %s', (_name, text) => {
    expect(() => parseCommandFile(text)).toThrow(/Invalid command file/)
  })
})

describe('parseMasks', () => {
  test('collects ::add-mask:: values only', () => {
    expect(parseMasks('hello\n::add-mask::s3cret\n::debug::x\n::add-mask::\n::add-mask::two words\n')).toEqual([
      's3cret',
      'two words'
    ])
  })
})

describe('inputs', () => {
  test.each([
    ['images', 'INPUT_IMAGES'],
    ['build-args', 'INPUT_BUILD-ARGS'],
    ['buildkitd-config-inline', 'INPUT_BUILDKITD-CONFIG-INLINE'],
    ['my input', 'INPUT_MY_INPUT']
  ])('%s -> %s', (name, env) => {
    expect(inputEnvName(name)).toBe(env)
  })

  test('actionDefaults mirrors action.yml', () => {
    const doc = load(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as {
      inputs: Record<string, { default?: string }>
    }
    const expected = Object.fromEntries(Object.entries(doc.inputs).map(([n, s]) => [n, s.default ?? '']))
    expect(actionDefaults()).toEqual(expected)
  })

  test('every input gets a variable; given values win; github.token resolves', () => {
    const env = inputEnv({ platforms: 'linux/arm64', 'no-cache': true }, 'ghs_given')
    const defaults = actionDefaults()
    expect(Object.keys(env).sort()).toEqual(Object.keys(defaults).map(inputEnvName).sort())
    expect(env['INPUT_PLATFORMS']).toBe('linux/arm64')
    expect(env['INPUT_NO-CACHE']).toBe('true')
    expect(env['INPUT_QEMU-IMAGE']).toBe(defaults['qemu-image'])
    expect(env['INPUT_GITHUB-TOKEN']).toBe('ghs_given')
    expect(inputEnv({})['INPUT_GITHUB-TOKEN']).toBe(DEFAULT_GITHUB_TOKEN)
  })

  test('an input action.yml does not declare throws', () => {
    expect(() => inputEnv({ platform: 'linux/amd64' })).toThrow(/Unknown input\(s\) platform/)
  })
})

// A stand-in for dist/index.js that speaks the runner protocol by hand (no imports of
// @actions/core), so the harness is checked on its own.
const ENTRY = String.raw`
const fs = require('fs')
const post = process.env.STATE_isPost === 'true'
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(INPUT_|STATE_|GITHUB_|RUNNER_|CI$|HOME$|DOCKER_CONFIG$|LEAK_)/.test(k)))
console.log('ENV ' + JSON.stringify(env))
if (!post) {
  fs.appendFileSync(process.env.GITHUB_STATE, 'isPost=true\n')
  fs.appendFileSync(process.env.GITHUB_STATE, 'builder<<ghadelimiter_s\nmr-builder\nline two\nghadelimiter_s\n')
  fs.appendFileSync(process.env.GITHUB_OUTPUT, 'version=' + process.env.INPUT_VERSION + '\n')
  fs.appendFileSync(process.env.GITHUB_OUTPUT, 'tags<<ghadelimiter_o\na:1\na:latest\nghadelimiter_o\n')
  fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, '# main summary\n')
  fs.appendFileSync(process.env.GITHUB_ENV, 'FROM_MAIN=hello\n')
  fs.appendFileSync(process.env.GITHUB_PATH, '/from-main/bin\n')
  console.log('::add-mask::masked-value')
  if (process.env.INPUT_PLATFORMS === 'sleep') {
    process.on('SIGINT', () => { console.log('got SIGINT'); process.exit(130) })
    setInterval(() => {}, 1000)
  } else if (process.env.INPUT_PLATFORMS === 'hang') {
    process.on('SIGINT', () => {})
    process.on('SIGTERM', () => { console.log('ignoring SIGTERM') })
    setInterval(() => {}, 1000)
  } else {
    console.error('main stderr line')
    process.exitCode = process.env.INPUT_PUSH === 'fail' ? 1 : 0
  }
} else {
  fs.appendFileSync(process.env.GITHUB_OUTPUT, 'post-output=x\n')
  fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, '# post summary\n')
  console.log('post PATH ' + process.env.PATH)
  console.log('post FROM_MAIN ' + process.env.FROM_MAIN)
}
`

interface Seen {
  [name: string]: string
}

function seenEnv(stdout: string): Seen {
  const line = stdout.split('\n').find(l => l.startsWith('ENV '))
  if (!line) throw new Error(`no ENV line in:\n${stdout}`)
  return JSON.parse(line.slice(4)) as Seen
}

describe('runAction against a stand-in entry', () => {
  let dir: string
  let entry: string

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'harness-test-'))
    entry = path.join(dir, 'entry.cjs')
    writeFileSync(entry, ENTRY)
  })

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  test('main and post see the runner environment; outputs, state and post STATE_* round-trip', async () => {
    const parent: Record<string, string> = {
      GITHUB_TOKEN: 'parent-token',
      GITHUB_REF: 'refs/heads/parent',
      INPUT_IMAGES: 'parent-images',
      STATE_builder: 'parent-state',
      LEAK_ME: 'parent'
    }
    const saved = Object.fromEntries(Object.keys(parent).map(k => [k, process.env[k]]))
    Object.assign(process.env, parent)
    let r
    try {
      r = await runAction({
        entry,
        cwd: dir,
        workDir: dir,
        eventName: 'release',
        event: { release: { tag_name: 'v1.2.3', prerelease: false } },
        ref: 'refs/tags/v1.2.3',
        inputs: { version: '1.2.3', 'build-args': 'A=1\nB=2' },
        env: { DOCKER_CONFIG: path.join(dir, 'dc'), EXTRA: 'x' }
      })
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }

    expect(r.main).toMatchObject({ exitCode: 0, signal: null, timedOut: false, killed: false })
    expect(r.post).toMatchObject({ exitCode: 0, timedOut: false })
    expect(r.main.stderr).toBe('main stderr line\n')

    const main = seenEnv(r.main.stdout)
    expect(main).toMatchObject({
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'release',
      GITHUB_REF: 'refs/tags/v1.2.3',
      GITHUB_REF_NAME: 'v1.2.3',
      GITHUB_REF_TYPE: 'tag',
      GITHUB_REPOSITORY: 'octo-org/octo-repo',
      GITHUB_REPOSITORY_OWNER: 'octo-org',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_WORKSPACE: dir,
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: process.arch === 'arm64' ? 'ARM64' : 'X64',
      DOCKER_CONFIG: path.join(dir, 'dc'),
      INPUT_VERSION: '1.2.3',
      'INPUT_BUILD-ARGS': 'A=1\nB=2',
      INPUT_PLATFORMS: actionDefaults().platforms,
      INPUT_IMAGES: '',
      'INPUT_GITHUB-TOKEN': DEFAULT_GITHUB_TOKEN
    })
    for (const name of ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'GITHUB_ENV', 'GITHUB_PATH', 'GITHUB_EVENT_PATH', 'RUNNER_TEMP', 'RUNNER_TOOL_CACHE']) {
      expect(main[name]).toMatch(new RegExp(`^${dir}/mr-run-`))
    }
    expect(main).not.toHaveProperty('GITHUB_TOKEN')
    expect(main).not.toHaveProperty('STATE_builder')
    expect(main).not.toHaveProperty('LEAK_ME')
    expect(JSON.parse(readFileSync(r.files.event, 'utf8'))).toMatchObject({
      release: { tag_name: 'v1.2.3', prerelease: false },
      repository: { full_name: 'octo-org/octo-repo' }
    })

    expect(r.outputs).toEqual({ version: '1.2.3', tags: 'a:1\na:latest' })
    expect(r.state).toEqual({ isPost: 'true', builder: 'mr-builder\nline two' })
    expect(r.masks).toEqual(['masked-value'])

    const post = seenEnv(r.post!.stdout)
    expect(post.STATE_isPost).toBe('true')
    expect(post.STATE_builder).toBe('mr-builder\nline two')
    expect(post.INPUT_VERSION).toBe('1.2.3')
    expect(post.GITHUB_OUTPUT).not.toBe(main.GITHUB_OUTPUT)
    expect(post.GITHUB_STATE).not.toBe(main.GITHUB_STATE)
    expect(r.post!.stdout).toContain('post FROM_MAIN hello')
    expect(r.post!.stdout).toMatch(/post PATH \/from-main\/bin:/)
    expect(readFileSync(r.files.post!.output, 'utf8')).toBe('post-output=x\n')
    expect(r.outputs).not.toHaveProperty('post-output')

    expect(r.summary).toBe('# main summary\n# post summary\n')
    expect(r.log).toBe(r.main.stdout + r.main.stderr + r.post!.stdout + r.post!.stderr)
  })

  test('a failing main still runs post; skipPost skips it', async () => {
    const failed = await runAction({ entry, cwd: dir, workDir: dir, inputs: { push: 'fail' } })
    expect(failed.main.exitCode).toBe(1)
    expect(failed.post?.exitCode).toBe(0)

    const noPost = await runAction({ entry, cwd: dir, workDir: dir, skipPost: true })
    expect(noPost.post).toBeUndefined()
  })

  test('killAfterMs cancels main like the runner (SIGINT first) and post still runs', async () => {
    const r = await runAction({ entry, cwd: dir, workDir: dir, inputs: { platforms: 'sleep' }, killAfterMs: 300 })
    expect(r.main).toMatchObject({ exitCode: 130, killed: true, timedOut: false })
    expect(r.main.stdout).toContain('got SIGINT')
    expect(r.state.isPost).toBe('true')
    expect(r.post?.exitCode).toBe(0)
    expect(seenEnv(r.post!.stdout).STATE_isPost).toBe('true')
  })

  test('timeoutMs ends a step that ignores SIGTERM with SIGKILL', async () => {
    const r = await runAction({
      entry,
      cwd: dir,
      workDir: dir,
      inputs: { platforms: 'hang' },
      timeoutMs: 300,
      skipPost: true
    })
    expect(r.main).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true })
    expect(r.main.stdout).toContain('ignoring SIGTERM')
  }, 20_000)

  test('unknown inputs and a missing entry throw before anything runs', async () => {
    await expect(runAction({ entry, cwd: dir, workDir: dir, inputs: { plaforms: 'x' } })).rejects.toThrow(/plaforms/)
    await expect(runAction({ entry: path.join(dir, 'missing.js'), cwd: dir, workDir: dir })).rejects.toThrow(/does not exist/)
  })
})
