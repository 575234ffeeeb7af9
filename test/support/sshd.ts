// The real OpenSSH sshd for tests lives with the simulator (npm start uses it too).
export { startSshd, findSshd, sshdUnavailableReason, type SshdHandle } from '../../simulator/sftp/sshd';
