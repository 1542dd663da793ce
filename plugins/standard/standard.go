// Package standard pulls in Stride's built-in plugins. cmd/stride
// blank-imports it; a custom build can import a different set.
package standard

import (
	_ "stride/plugins/dingtalk"
	_ "stride/plugins/feishu"
	_ "stride/plugins/inbox"
	_ "stride/plugins/webhook"
	_ "stride/plugins/wecom"
)
