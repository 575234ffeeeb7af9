/**
 * SFTP file exchange with the Serviceplatform (Fælleskommunal Filudveksling). No Node-RED dependency.
 *
 * Use from `fordeling out` (per file of a FordelingsObject, before FordelingsobjektAfsend):
 *   const sftp = RED.nodes.getNode(config.sftp) as unknown as SftpConfig;       // os2-sftp config node
 *   const conn = sftp.connection();                                            // shared, never end() it
 *   for (const [i, file] of obj.files.entries()) {
 *     const sftpName = sftpNameOf(obj.submissionId, i, file);                   // = map's FileRef.sftpName
 *     const { receipt } = await uploadWithTrigger(conn, sftp.folders,
 *       { source: uploadSourceOf(file, openUrl), sftpName, sendersFileId },
 *       { sender: sftp.username, infRef: file.fileSpecification ?? obj.fileSpecification, senderSystemUuid, senderCvr,
 *         transactionId, recipientCvr, recipientSystemUuid },                  // recipient from FordelingsmodtagerList if configured
 *       sftp.receipts);                                                        // throws SftpReceiptError with the platform's text
 *   }
 * Use from `receipt in` (SFTP mode): listReceiptFiles → readReceipt → sftpNameOfReceipt (correlate) → disposeReceipt.
 */
export type { SftpConfig } from './config';
export { SftpConnection, HostKeyMismatchError, SftpConnectionError, isConnectionLost, isClosedConnection, type SftpSettings, type SftpOp } from './connection';
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
} from './receipt-files';
export {
  uploadAtomically,
  writeTrigger,
  waitForReceipt,
  readReceipt,
  disposeReceipt,
  listReceiptFiles,
  uploadWithTrigger,
  uploadSourceOf,
  sftpNameOf,
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
