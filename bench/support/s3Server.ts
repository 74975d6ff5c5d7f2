import { startS3 } from '../../test/support/s3';

// s3rver in its own process, so that the benchmark's process has its cores to itself, as
// the gateway would against a real S3 service.
startS3(process.argv[2] ?? 'bench').then(
  (s3) => {
    process.send!({ url: s3.url });
    process.on('SIGTERM', () => void s3.stop().then(() => process.exit(0)));
  },
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
