/** Autonomous mode (FEATURES G4): decided by the planner's permission policy (plan/permission-policy.ts). */
export { allowAllPermission as autonomousPermission } from "../plan/permission-policy.js";
