/** Model references and endpoints: decided in plan/ (pure), re-exported for the executor. */
export {
  configuredModel,
  formatModelRef,
  loopbackPorts,
  parseModelRef,
  providerBaseURL,
  type ModelRef,
} from "../plan/model-ref.js";
