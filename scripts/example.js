// Runs dist/index.js on examples/hello like a runner would on a release of v1.0.0: pushed to
// the registry given, or, with none, built locally into per-platform archives.
import * as path from 'node:path'
import { runAction } from './harness.js'

const [registry, base] = process.argv.slice(2)
const root = path.resolve(import.meta.dirname, '..')
const local = !registry
const result = await runAction({
  cwd: root,
  eventName: 'release',
  ref: 'refs/tags/v1.0.0',
  event: { release: { tag_name: 'v1.0.0', prerelease: false, draft: false } },
  inputs: {
    images: local ? 'example/hello' : `${registry}/example/hello`,
    platforms: 'linux/amd64,linux/arm64,linux/arm/v7',
    context: 'examples/hello',
    'build-args': `BASE=${base}`,
    // Inside the checkout, as the action requires of every path it writes.
    ...(local ? { push: 'false', archive: '.example-archives' } : {})
  },
  verbose: process.env.EXAMPLE_VERBOSE === '1'
})
if (result.main.exitCode !== 0) {
  process.stderr.write(result.log)
  process.exit(1)
}
console.log(`version ${result.outputs.version}`)
if (local) {
  console.log('no registry: built locally, one archive per platform (docker load -i FILE)')
  for (const [platform, file] of Object.entries(JSON.parse(result.outputs.archives))) console.log(`${platform.padEnd(14)} ${file}`)
} else {
  console.log(result.outputs.tags)
  console.log(`index   ${result.outputs.digest}`)
  for (const [platform, digest] of Object.entries(JSON.parse(result.outputs.digests))) console.log(`${platform.padEnd(14)} ${digest}`)
}
