"""pooldrift's Slack front: ``/pooldrift`` over HTTP or Socket Mode (slack-bolt AsyncApp)."""
