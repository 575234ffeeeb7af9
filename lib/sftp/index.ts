/** SFTP file exchange with the Serviceplatform (Fælleskommunal Filudveksling). No Node-RED dependency. */
export type { SftpConfig } from './config';
export { SftpConnection, HostKeyMismatchError, SftpConnectionError, isConnectionLost, type SftpSettings, type SftpOp } from './connection';
export { sha256Fingerprint, normaliseFingerprint } from './fingerprint';
export { safeSftpName, safeAsciiName, assertSafeSftpName, remotePath, MAX_SFTP_BASE_NAME } from './names';
export { buildTrigger, SFTP_NS, DYNAMIC_ROUTING_RECIPIENT, type TriggerInput, type DynamicRouting } from './trigger';
export {
  parseSftpReceipt,
  receiptErrorText,
  buildTechnicalReceipt,
  type SftpReceipt,
  type TechnicalReceipt,
  type BusinessReceipt,
  type BusinessResponse,
  type SftpErrorMessage,
} from './receipts';
export {
  uploadAtomically,
  writeTrigger,
  waitForReceipt,
  readReceipt,
  disposeReceipt,
  listReceiptFiles,
  uploadWithTrigger,
  receiptNameFor,
  sftpNameOfReceipt,
  tempNameFor,
  SftpReceiptError,
  type SftpFolders,
  type UploadSource,
  type ReceiptDisposal,
  type ReceiptWaitOptions,
  type UploadFile,
  type UploadRouting,
  type UploadResult,
  type RemoteFile,
} from './exchange';
