// Runs dist/index.js on examples/hello like a runner would on a release of v1.0.0.
import * as path from 'node:path'
import { runAction } from './harness.js'

const [registry, base] = process.argv.slice(2)
const root = path.resolve(import.meta.dirname, '..')
const result = await runAction({
  cwd: root,
  eventName: 'release',
  ref: 'refs/tags/v1.0.0',
  event: { release: { tag_name: 'v1.0.0', prerelease: false, draft: false } },
  inputs: {
    images: `${registry}/example/hello`,
    platforms: 'linux/amd64,linux/arm64,linux/arm/v7',
    context: 'examples/hello',
    'build-args': `BASE=${base}`
  },
  verbose: process.env.EXAMPLE_VERBOSE === '1'
})
if (result.main.exitCode !== 0) {
  process.stderr.write(result.log)
  process.exit(1)
}
console.log(`version ${result.outputs.version}`)
console.log(result.outputs.tags)
console.log(`index   ${result.outputs.digest}`)
for (const [platform, digest] of Object.entries(JSON.parse(result.outputs.digests))) {
  console.log(`${platform.padEnd(14)} ${digest}`)
}
