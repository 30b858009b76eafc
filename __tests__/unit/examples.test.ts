// The example projects are what the README points newcomers to: their Dockerfiles must have
// the shapes they claim, as the action itself reads them (stages, base images, emulation).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { externalImages, parseDockerfile } from '../../src/dockerfile.js'
import { formatPlatform, parsePlatforms } from '../../src/platforms.js'
import { emulationPlan, hardcodedArchWarnings } from '../../src/preflight.js'

const examples = path.resolve(import.meta.dirname, '..', '..', 'examples')
const PLATFORMS = parsePlatforms(['linux/amd64', 'linux/arm64', 'linux/arm/v7'])
const HOST = { os: 'linux', architecture: 'amd64' }

function read(file: string): ReturnType<typeof parseDockerfile> {
  return parseDockerfile(readFileSync(path.join(examples, file), 'utf8'), { file })
}

test.each<[string, string[], string[]]>([
  ['hello/Dockerfile', ['busybox:latest'], ['linux/arm64', 'linux/arm/v7']],
  ['cross/Dockerfile', ['busybox:latest'], []],
  ['go/Dockerfile', ['golang:1.23-alpine', 'alpine:3.20'], []],
  ['go/Dockerfile.emulated', ['golang:1.23-alpine', 'alpine:3.20'], ['linux/arm64', 'linux/arm/v7']]
])('%s pulls %j and runs RUN under emulation for %j', (file, images, emulated) => {
  const df = read(file)
  expect(externalImages(df)).toEqual(images)
  expect(emulationPlan(df, PLATFORMS, HOST).platforms.map(formatPlatform)).toEqual(emulated)
  expect(hardcodedArchWarnings(df, PLATFORMS, HOST)).toEqual([])
})
