/** FordelingsmodtagerValider lives with FordelingsmodtagerList; this module re-exports it under its own name. */
export {
  buildModtagerValiderRequest,
  parseModtagerValiderResponse,
  parseModtagerValiderRequest,
  buildModtagerValiderResponse,
  type ModtagerValiderQuery,
  type ModtagerValiderResult,
} from './modtager-list';
