import { StateKey } from './statekeys.js'

// One bundle serves both steps; the state main saved tells them apart, read as @actions/core's
// getState reads it, before anything else loads. A release that went through cleaned up at the
// end of main, so its post step loads nothing more: its cost is Node's start. The post step
// never loads main's code.
const saved = (key: string): string => process.env[`STATE_${key}`] ?? ''
if (saved(StateKey.isPost) !== 'true') await import('./main.js').then(async m => m.runMain())
else if (saved(StateKey.cleaned) !== 'true') await import('./post.js').then(async m => m.runPost())
