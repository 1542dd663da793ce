// The bell in the header: the unread count of the caller's inbox (GET /inbox?limit=1),
// refreshed every 30 seconds, on navigation, and when the inbox page changes something
// (the "stride:inbox" window event). A click opens the inbox.
import { useCallback, useEffect, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { Badge, Button, Tooltip } from 'antd';
import { BellOutlined } from '@ant-design/icons';
import { api } from '../../api/client.ts';
import { useI18n } from '../../i18n/index.tsx';
import type { Inbox } from './types.ts';

export const INBOX_EVENT = 'stride:inbox';

export function InboxBell() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const [unread, setUnread] = useState(0);

  const refresh = useCallback(() => {
    api
      .get<Inbox>('inbox', { query: { limit: 1 } })
      .then((r) => setUnread(r.unread))
      .catch(() => undefined);
  }, []);

  useEffect(refresh, [refresh, location.pathname]);
  useEffect(() => {
    const id = window.setInterval(refresh, 30_000);
    window.addEventListener(INBOX_EVENT, refresh);
    return () => {
      window.clearInterval(id);
      window.removeEventListener(INBOX_EVENT, refresh);
    };
  }, [refresh]);

  return (
    <Tooltip title={t('inbox.bell')}>
      <Button type="text" onClick={() => navigate('/inbox')} aria-label={t('inbox.bell')} data-testid="inbox-bell">
        <Badge count={unread} size="small" overflowCount={99} data-testid="inbox-badge">
          <BellOutlined style={{ fontSize: 18 }} />
        </Badge>
      </Button>
    </Tooltip>
  );
}
