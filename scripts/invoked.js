import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

/** Whether the module at `url` (its import.meta.url) is the script node was started with, not an import. */
export function invokedDirectly(url) {
  try {
    return process.argv[1] !== undefined && url === pathToFileURL(realpathSync(process.argv[1])).href
  } catch {
    return false
  }
}
