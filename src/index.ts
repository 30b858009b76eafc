import * as path from 'node:path'
import * as nodeModule from 'node:module'

// Node >= 22.1 can keep the compiled code on disk: main compiles the bundle's chunks once and
// the post step, on the same runner moments later, loads them from the cache. The chunks are
// imported only after this call, since a module is compiled before any of its code runs.
const { enableCompileCache } = nodeModule as { enableCompileCache?: (directory?: string) => unknown }
const temp = process.env.RUNNER_TEMP
enableCompileCache?.(temp ? path.join(temp, 'multiarch-release-compile-cache') : undefined)

await import('./step.js')
