import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import * as zlib from 'node:zlib'
import {
  archiveBuildArgs,
  archiveFileName,
  archiveOutputs,
  compressionSupported,
  formatBytes,
  sha256sumsText,
  singlePlatformAnnotations,
  uncachedSteps,
  writeArchives,
  type ArchiveCompression,
  type ArchiveFormat
} from '../../src/archive.js'
import type { BuildPlan } from '../../src/build.js'
import type { Docker, ExecResult, RunOptions } from '../../src/docker.js'
import { DockerCommandError } from '../../src/errors.js'
import { emptyPlan, everyFlagPlan } from '../fixtures/plan.js'

describe('archiveFileName', () => {
  test.each<[string, string, string, ArchiveCompression, string]>([
    ['ghcr.io/octo/app', '1.2.3', 'linux/amd64', 'none', 'ghcr.io_octo_app_1.2.3_linux-amd64.tar'],
    ['127.0.0.1:5001/e2e/app', '2.0.0-rc.1', 'linux/arm/v7', 'gzip', '127.0.0.1_5001_e2e_app_2.0.0-rc.1_linux-arm-v7.tar.gz'],
    ['user/app', 'main', 'linux/arm64', 'zstd', 'user_app_main_linux-arm64.tar.zst'],
    ['app', '1.0.0', 'linux/arm64/v8.2', 'none', 'app_1.0.0_linux-arm64-v8-2.tar'],
    ['registry.example.com:5000/team/sub/app', 'pr-42', 'linux/s390x', 'gzip', 'registry.example.com_5000_team_sub_app_pr-42_linux-s390x.tar.gz']
  ])('%s %s %s %s', (image, version, platform, compression, expected) => {
    expect(archiveFileName(image, version, platform, compression)).toBe(expected)
  })
})

describe('singlePlatformAnnotations', () => {
  test.each<[string, string[], string[]]>([
    ['plain manifest annotation', ['org.opencontainers.image.source=https://x.example/y'], ['org.opencontainers.image.source=https://x.example/y']],
    ['index only is dropped', ['index:org.opencontainers.image.description=My app'], []],
    ['index-descriptor only is dropped', ['index-descriptor:foo=bar'], []],
    ['index,manifest keeps manifest', ['index,manifest:org.opencontainers.image.description=a:b'], ['manifest:org.opencontainers.image.description=a:b']],
    ['platform-scoped manifest stays', ['manifest[linux/arm64]:foo=bar'], ['manifest[linux/arm64]:foo=bar']],
    ['platform-scoped index,manifest-descriptor', ['index,manifest-descriptor[linux/amd64]:foo=x'], ['manifest-descriptor[linux/amd64]:foo=x']],
    ['order kept', ['manifest:a=1', 'index:b=2', 'c=3'], ['manifest:a=1', 'c=3']]
  ])('%s', (_name, input, expected) => {
    expect(singlePlatformAnnotations(input)).toEqual(expected)
  })
})

const BASE = everyFlagPlan({ annotations: ['index:org.opencontainers.image.description=My app', 'manifest:team=build'] })

const COMMON_HEAD = [
  'build',
  '--builder', 'multiarch-release-42-1-a1b2c3'
]
const COMMON_MIDDLE = [
  '--file', 'docker/Dockerfile.release',
  '--target', 'runtime',
  '--build-arg', 'GO_VERSION=1.23',
  '--label', 'org.opencontainers.image.title=app',
  '--annotation', 'manifest:team=build',
  '--secret', 'id=npm_token,env=MULTIARCH_RELEASE_SECRET_0',
  '--cache-from', 'type=gha'
]
const NAMES = '"name=ghcr.io/octo/app:1.2.3,ghcr.io/octo/app:latest"'

describe('archiveBuildArgs', () => {
  test.each<[string, string, string, ArchiveFormat, string[]]>([
    [
      'docker: no attestations, which its exporter cannot write',
      'linux/arm64',
      'out/app_1.2.3_linux-arm64.tar',
      'docker',
      [
        ...COMMON_HEAD,
        '--platform', 'linux/arm64',
        ...COMMON_MIDDLE,
        '--provenance=false',
        '--sbom=false',
        '--output', `type=docker,${NAMES},dest=out/app_1.2.3_linux-arm64.tar`,
        '--metadata-file', 'work/metadata-archive-linux-arm64.json',
        '--', './app'
      ]
    ],
    [
      'oci: the user\'s attestations',
      'linux/arm/v7',
      'stage/app_1.2.3_linux-arm-v7.tar.gz.partial',
      'oci',
      [
        ...COMMON_HEAD,
        '--platform', 'linux/arm/v7',
        ...COMMON_MIDDLE,
        '--provenance=mode=max',
        '--sbom=true',
        '--output', `type=oci,${NAMES},dest=stage/app_1.2.3_linux-arm-v7.tar.gz.partial`,
        '--metadata-file', 'work/metadata-archive-linux-arm-v7.json',
        '--', './app'
      ]
    ],
    [
      'a destination with a comma is quoted for the CSV parser',
      'linux/amd64',
      'my,dir/"x".partial',
      'docker',
      [
        ...COMMON_HEAD,
        '--platform', 'linux/amd64',
        ...COMMON_MIDDLE,
        '--provenance=false',
        '--sbom=false',
        '--output', `type=docker,${NAMES},"dest=my,dir/""x"".partial"`,
        '--metadata-file', 'work/metadata-archive-linux-amd64.json',
        '--', './app'
      ]
    ]
  ])('%s', (_name, platform, dest, format, expected) => {
    expect(archiveBuildArgs(BASE, platform, dest, format)).toEqual(expected)
  })

  test('a push-by-digest exporter of the main build gives way to the archive', () => {
    const byDigest: BuildPlan = { ...BASE, tags: [], outputs: ['type=image,name=ghcr.io/octo/app,push-by-digest=true,name-canonical=true,push=true'] }
    const args = archiveBuildArgs(byDigest, 'linux/amd64', 'a.tar', 'docker')
    expect(args.filter((_a, i) => args[i - 1] === '--output')).toEqual(['type=docker,dest=a.tar'])
    expect(args).not.toContain('--push')
  })

  test('a minimal plan gets only the platform, output and metadata file', () => {
    const minimal = emptyPlan({ platforms: BASE.platforms, tags: ['app:1'], metadataFile: BASE.metadataFile })
    expect(archiveBuildArgs(minimal, 'linux/amd64', 'a.tar', 'oci')).toEqual([
      'build',
      '--platform', 'linux/amd64',
      '--output', 'type=oci,name=app:1,dest=a.tar',
      '--metadata-file', 'work/metadata-archive-linux-amd64.json',
      '--', '.'
    ])
  })
})

// Plain progress of buildx 0.13.1 on BuildKit 0.13.2 (docker-container driver), exporting one
// platform of a two-stage Dockerfile: first with a cold cache, then again.
const PROGRESS_HEAD = `#0 building with "arxb" instance using docker-container driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 183B done
#1 DONE 0.0s

#2 [internal] load metadata for 127.0.0.1:5001/busybox:latest
#2 DONE 0.0s

#3 [internal] load .dockerignore
#3 transferring context: 2B done
#3 DONE 0.0s

#4 [base 1/3] FROM 127.0.0.1:5001/busybox:latest@sha256:55c3e950472028a87a087d888a32b1eea941ba093e432ef591e86a1c089bf6eb
#4 resolve 127.0.0.1:5001/busybox:latest@sha256:55c3e950472028a87a087d888a32b1eea941ba093e432ef591e86a1c089bf6eb done
`
const PROGRESS_UNCACHED = `${PROGRESS_HEAD}#4 CACHED

#5 [internal] load build context
#5 transferring context: 183B done
#5 DONE 0.0s

#6 [base 2/3] COPY Dockerfile /Dockerfile
#6 DONE 0.0s

#7 [base 3/3] RUN echo 9212 > /nonce && uname -m > /arch
#7 DONE 0.1s

#8 exporting to docker image format
#8 exporting layers 0.0s done
#8 exporting manifest sha256:308795d613e8d7ad176d532f0049a91382c4258593436badfd30ad35946136e8 done
#8 exporting config sha256:63b4de1a489b7114acc180cceabbbf337ae5baea60d1e75f813013c409fcb77a done
#8 sending tarball 0.0s done
#8 DONE 0.0s
`
const PROGRESS_CACHED = `${PROGRESS_HEAD}#4 DONE 0.0s

#5 [internal] load build context
#5 transferring context: 32B done
#5 DONE 0.0s

#6 [base 2/3] COPY Dockerfile /Dockerfile
#6 CACHED

#7 [base 3/3] RUN echo 9212 > /nonce && uname -m > /arch
#7 CACHED

#8 exporting to docker image format
#8 exporting layers done
#8 exporting manifest sha256:308795d613e8d7ad176d532f0049a91382c4258593436badfd30ad35946136e8 done
#8 exporting config sha256:63b4de1a489b7114acc180cceabbbf337ae5baea60d1e75f813013c409fcb77a done
#8 sending tarball 0.0s done
#8 DONE 0.0s
`

describe('uncachedSteps', () => {
  test.each<[string, string, string[]]>([
    ['every step from the cache', PROGRESS_CACHED, []],
    ['a cold cache', PROGRESS_UNCACHED, ['[base 2/3] COPY Dockerfile /Dockerfile', '[base 3/3] RUN echo 9212 > /nonce && uname -m > /arch']],
    [
      'a step whose output interleaves with another vertex',
      '#5 [2/2] RUN make\n#6 [internal] load x\n#5 0.512 building\n#6 DONE 0.0s\n#5 0.900 done\n#5 DONE 1.2s\n',
      ['[2/2] RUN make']
    ],
    ['a platform-prefixed step', '#8 [linux/arm64 2/2] RUN uname -m > /arch\n#8 CACHED\n', []],
    ['no progress at all', '', []]
  ])('%s', (_name, progress, expected) => {
    expect(uncachedSteps(progress)).toEqual(expected)
  })
})

describe('sha256sumsText', () => {
  const A = 'a'.repeat(64)
  const B = '0123456789abcdef'.repeat(4)
  test('two spaces between digest and name, one line each, in the given order', () => {
    expect(
      sha256sumsText([
        { file: 'app_1.2.3_linux-arm64.tar', sha256: A },
        { file: 'app_1.2.3_linux-amd64.tar', sha256: B }
      ])
    ).toBe(`${A}  app_1.2.3_linux-arm64.tar\n${B}  app_1.2.3_linux-amd64.tar\n`)
  })
  test('no entries, no lines', () => {
    expect(sha256sumsText([])).toBe('')
  })
  test.each<[string, string, string]>([
    ['a newline in the name', 'a\nb.tar', A],
    ['a backslash in the name', 'a\\b.tar', A],
    ['a directory in the name', 'dir/a.tar', A],
    ['an upper-case digest', 'a.tar', 'A'.repeat(64)],
    ['a short digest', 'a.tar', 'abc']
  ])('rejects %s', (_name, file, sha256) => {
    expect(() => sha256sumsText([{ file, sha256 }])).toThrow()
  })
})

describe('archiveOutputs', () => {
  test('the JSON map and one output per platform', () => {
    expect(
      archiveOutputs({
        'linux/amd64': '/w/out/app_1_linux-amd64.tar',
        'linux/arm/v7': '/w/out/app_1_linux-arm-v7.tar'
      })
    ).toEqual({
      archives: '{"linux/amd64":"/w/out/app_1_linux-amd64.tar","linux/arm/v7":"/w/out/app_1_linux-arm-v7.tar"}',
      'archive-linux-amd64': '/w/out/app_1_linux-amd64.tar',
      'archive-linux-arm-v7': '/w/out/app_1_linux-arm-v7.tar'
    })
  })
})

describe('formatBytes', () => {
  test.each<[number, string]>([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [41336061, '39.4 MiB'],
    [5 * 1024 ** 3, '5.0 GiB']
  ])('%d', (bytes, expected) => {
    expect(formatBytes(bytes)).toBe(expected)
  })
})

/**
 * Writes, for each build, the archive content the fake "exports" for its platform to the
 * --output dest, as buildx does, and answers with the given progress.
 */
class ExportingDocker implements Docker {
  readonly calls: Array<{ args: string[]; options: RunOptions }> = []
  inFlight = 0
  maxInFlight = 0

  constructor(
    private readonly content: (platform: string) => string,
    private readonly progress: (platform: string) => string = () => PROGRESS_CACHED,
    private readonly failOn?: string
  ) {}

  run(): Promise<ExecResult> {
    throw new Error('writeArchives must only call buildx')
  }

  async buildx(args: string[], options: RunOptions = {}): Promise<ExecResult> {
    this.calls.push({ args, options })
    this.inFlight++
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight)
    try {
      await new Promise(resolve => setTimeout(resolve, 20))
      const platform = args[args.indexOf('--platform') + 1]
      const output = args[args.indexOf('--output') + 1]
      const dest = /,dest=([^,]+)$/.exec(output)![1]
      writeFileSync(dest, this.content(platform).slice(0, platform === this.failOn ? 5 : undefined))
      if (platform === this.failOn) {
        throw new DockerCommandError(`docker buildx ${args.join(' ')}`, 1, 'ERROR: failed to solve: sending tarball: broken pipe')
      }
      writeFileSync(args[args.indexOf('--metadata-file') + 1], JSON.stringify({ 'containerimage.digest': `sha256:${sha256(platform)}` }))
      return { exitCode: 0, stdout: '', stderr: this.progress(platform) }
    } finally {
      this.inFlight--
    }
  }
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
const contentOf = (platform: string): string => `archive of ${platform}\n`.repeat(1000)

const roots: string[] = []
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true })
})

function workDir(): { dir: string; staging: string; plan: BuildPlan } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'archive-test-'))
  roots.push(root)
  mkdirSync(path.join(root, 'work'))
  mkdirSync(path.join(root, 'staging'))
  return {
    dir: path.join(root, 'out'),
    staging: path.join(root, 'staging'),
    plan: { ...BASE, builder: 'b', platforms: PLATFORMS, metadataFile: path.join(root, 'work', 'metadata.json') }
  }
}

function clock(): () => number {
  let t = 1000
  return () => (t += 250)
}

describe('writeArchives', () => {
  test('one uncompressed archive per platform, SHA256SUMS, outputs in platform order, one build each', async () => {
    const { dir, staging, plan } = workDir()
    const docker = new ExportingDocker(contentOf)
    const lines: string[] = []
    const result = await writeArchives(docker, plan, dir, {
      image: '127.0.0.1:5001/e2e/app',
      version: '1.2.3',
      format: 'docker',
      compression: 'none',
      concurrency: 1,
      stagingDir: staging,
      log: line => lines.push(line),
      now: clock()
    })
    const names = PLATFORMS.map(p => `127.0.0.1_5001_e2e_app_1.2.3_${p.replace(/\//g, '-')}.tar`)
    expect(result.archives).toEqual(Object.fromEntries(PLATFORMS.map((p, i) => [p, path.join(dir, names[i])])))
    expect(Object.keys(result.archives)).toEqual(PLATFORMS)
    expect(result.sumsFile).toBe(path.join(dir, 'SHA256SUMS'))
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', ...names].sort())
    for (const [i, p] of PLATFORMS.entries()) expect(readFileSync(path.join(dir, names[i]), 'utf8')).toBe(contentOf(p))
    expect(readFileSync(result.sumsFile, 'utf8')).toBe(PLATFORMS.map((p, i) => `${sha256(contentOf(p))}  ${names[i]}\n`).join(''))
    expect(result.rebuilt).toEqual({ 'linux/amd64': [], 'linux/arm64': [], 'linux/arm/v7': [] })
    expect(result.digests).toEqual(Object.fromEntries(PLATFORMS.map(p => [p, `sha256:${sha256(p)}`])))
    // Three exports of two ticks each (start and end) inside the first and last tick.
    expect(result.exportMs).toBe(7 * 250)
    expect(docker.calls.map(c => c.args[c.args.indexOf('--platform') + 1])).toEqual(PLATFORMS)
    expect(docker.calls.map(c => c.options)).toEqual(PLATFORMS.map(() => ({ silent: true, env: { MULTIARCH_RELEASE_SECRET_0: 'npm-s3cr3t-value', BUILDKIT_PROGRESS: 'plain' } })))
    expect(docker.calls.every(c => !c.args.includes('--push') && !c.args.includes('--no-cache') && !c.args.includes('--cache-to'))).toBe(true)
    expect(docker.maxInFlight).toBe(1)
    // Written outside the archive directory, which may lie in the build context, then moved.
    const dests = docker.calls.map(c => /,dest=([^,]+)$/.exec(c.args[c.args.indexOf('--output') + 1])![1])
    dests.forEach((dest, i) => expect(dest).toMatch(new RegExp(`^${staging}/archives-[^/]+/${names[i].replace(/\./g, '\\.')}$`)))
    expect(readdirSync(staging)).toEqual([])
    expect(lines).toEqual([
      `linux/amd64  ${names[0]}  22.5 KiB  0.3s  manifest sha256:${sha256('linux/amd64')}`,
      `linux/arm64  ${names[1]}  22.5 KiB  0.3s  manifest sha256:${sha256('linux/arm64')}`,
      `linux/arm/v7  ${names[2]}  23.4 KiB  0.3s  manifest sha256:${sha256('linux/arm/v7')}`,
      `exported 3 docker archive(s), compression none, in 1.8s to ${dir}`
    ])
  })

  test('gzip: the tar itself is compressed, the uncompressed export is removed, sums cover the .tar.gz', async () => {
    const { dir, staging, plan } = workDir()
    const docker = new ExportingDocker(contentOf)
    const result = await writeArchives(docker, plan, dir, {
      image: 'app',
      version: '2.0.0',
      format: 'oci',
      compression: 'gzip',
      stagingDir: staging
    })
    const names = PLATFORMS.map(p => `app_2.0.0_${p.replace(/\//g, '-')}.tar.gz`)
    // The exporter is told nothing about compression: the layers stay as pushed.
    const outputs = docker.calls.map(c => c.args[c.args.indexOf('--output') + 1])
    outputs.forEach((output, i) => expect(output).toMatch(new RegExp(`^type=oci,${NAMES},dest=${staging}/archives-[^/]+/${names[i].replace(/\./g, '\\.')}\\.partial$`)))
    expect(readdirSync(staging)).toEqual([])
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', ...names].sort())
    const sums: string[] = []
    for (const [i, p] of PLATFORMS.entries()) {
      const gz = readFileSync(path.join(dir, names[i]))
      expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
      expect(gunzipSync(gz).toString('utf8')).toBe(contentOf(p))
      expect(gz.length).toBeLessThan(contentOf(p).length / 10)
      sums.push(`${sha256(gz)}  ${names[i]}\n`)
    }
    expect(readFileSync(result.sumsFile, 'utf8')).toBe(sums.join(''))
  })

  test('zstd: compressed with node:zlib where the runtime has it, refused up front where not', async () => {
    const { dir, plan } = workDir()
    const docker = new ExportingDocker(contentOf)
    const run = writeArchives(docker, plan, dir, { image: 'app', version: '1', format: 'docker', compression: 'zstd' })
    if (!compressionSupported('zstd')) {
      await expect(run).rejects.toThrow(`archive-compression: zstd needs Node.js 22.15 or later, this is ${process.version}`)
      expect(docker.calls).toEqual([])
      return
    }
    await run
    const decompress = (zlib as unknown as { zstdDecompressSync: (b: Buffer) => Buffer }).zstdDecompressSync
    for (const p of PLATFORMS) {
      const zst = readFileSync(path.join(dir, `app_1_${p.replace(/\//g, '-')}.tar.zst`))
      expect(zst.readUInt32LE(0)).toBe(0xfd2fb528)
      expect(decompress(zst).toString('utf8')).toBe(contentOf(p))
    }
  })

  test('steps the export ran again are reported per platform', async () => {
    const { dir, plan } = workDir()
    const docker = new ExportingDocker(contentOf, p => (p === 'linux/arm64' ? PROGRESS_UNCACHED : PROGRESS_CACHED))
    const result = await writeArchives(docker, plan, dir, { image: 'app', version: '1', format: 'docker', compression: 'none' })
    expect(result.rebuilt).toEqual({
      'linux/amd64': [],
      'linux/arm64': ['[base 2/3] COPY Dockerfile /Dockerfile', '[base 3/3] RUN echo 9212 > /nonce && uname -m > /arch'],
      'linux/arm/v7': []
    })
  })

  test('three exports at once unless told otherwise', async () => {
    const { dir, plan } = workDir()
    const docker = new ExportingDocker(contentOf)
    await writeArchives(docker, { ...plan, platforms: [...PLATFORMS, 'linux/ppc64le'] }, dir, { image: 'app', version: '1', format: 'docker', compression: 'none' })
    expect(docker.maxInFlight).toBe(3)
    expect(docker.calls).toHaveLength(4)
  })

  test('concurrency runs that many exports at once and keeps the platform order', async () => {
    const { dir, plan } = workDir()
    const docker = new ExportingDocker(contentOf)
    const result = await writeArchives(docker, plan, dir, { image: 'app', version: '1', format: 'docker', compression: 'gzip', concurrency: 2 })
    expect(docker.maxInFlight).toBe(2)
    expect(Object.keys(result.archives)).toEqual(PLATFORMS)
  })

  test('a failed export leaves the archive directory as it was, and starts no further export', async () => {
    const { dir, staging, plan } = workDir()
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'SHA256SUMS'), `${'0'.repeat(64)}  stale.tar\n`)
    const docker = new ExportingDocker(contentOf, undefined, 'linux/arm64')
    await expect(
      writeArchives(docker, plan, dir, { image: 'app', version: '1', format: 'docker', compression: 'gzip', concurrency: 1, stagingDir: staging })
    ).rejects.toThrow('sending tarball: broken pipe')
    expect(docker.calls).toHaveLength(2)
    expect(readdirSync(dir)).toEqual(['SHA256SUMS'])
    expect(readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8')).toBe(`${'0'.repeat(64)}  stale.tar\n`)
    expect(readdirSync(staging)).toEqual([])
  })

  test('a failure waits for the exports running beside it, then leaves nothing behind', async () => {
    const { dir, staging, plan } = workDir()
    const docker = new ExportingDocker(contentOf, undefined, 'linux/amd64')
    await expect(
      writeArchives(docker, plan, dir, { image: 'app', version: '1', format: 'docker', compression: 'none', stagingDir: staging })
    ).rejects.toThrow(DockerCommandError)
    expect(docker.maxInFlight).toBe(3)
    expect(docker.calls).toHaveLength(3)
    expect(existsSync(dir)).toBe(false)
    expect(readdirSync(staging)).toEqual([])
  })
})
