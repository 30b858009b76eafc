import * as core from '@actions/core'
import { errorMessage } from './errors.js'
import { describeFailure } from './retry.js'
import { cleanup } from './post.js'
import { isPost } from './state.js'

// One bundle serves both steps; the state flag saved by main tells them apart. The post step
// never loads main's code (its own chunk), which keeps the cleanup's start cheap.
const post = isPost()
const step = post ? cleanup() : import('./main.js').then(async m => m.run())
step.catch((e: unknown) => {
  if (post) core.warning(errorMessage(e))
  else core.setFailed(describeFailure(e))
})
