// TestUppy's browser bundle for the @uppy/aws-s3 6.x line (companionEndpoint).
// scripts/install-test-tools.sh bundles it with esbuild into dist/uppy.js;
// the page (../page.html) and its harness (../harness.js) use what it puts
// on window. Nothing else is in it: the plugins are the published ones.
import AwsS3 from '@uppy/aws-s3'
import Uppy from '@uppy/core'
import GoldenRetriever from '@uppy/golden-retriever'

window.UppyLine = {
  line: 'v6',
  Uppy,
  AwsS3,
  GoldenRetriever,
  versions: { core: Uppy.VERSION, awsS3: AwsS3.VERSION, goldenRetriever: GoldenRetriever.VERSION },
}
