import * as core from '@actions/core'
import { errorMessage } from './errors.js'
import { describeFailure } from './retry.js'
import { run } from './main.js'
import { cleanup } from './post.js'
import { isPost } from './state.js'

// One bundle serves both steps; the state flag saved by main tells them apart.
const step = isPost() ? cleanup() : run()
step.catch((e: unknown) => {
  if (isPost()) core.warning(errorMessage(e))
  else core.setFailed(describeFailure(e))
})
