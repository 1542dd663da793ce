import { useState } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { LockOutlined, ShopOutlined, UserOutlined } from '@ant-design/icons';
import { useAuth } from '../auth.tsx';
import { useI18n } from '../i18n/index.tsx';
import { LangSwitch } from '../components/LangSwitch.tsx';
import { problemText } from '../lib/problem.ts';
import { isApiError } from '../api/client.ts';

interface LoginForm {
  tenant: string;
  username: string;
  password: string;
}

export function LoginPage() {
  const { t } = useI18n();
  const { me, login, lastTenant } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  const [error, setError] = useState<{ title: string; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  if (me) return <Navigate to={from && from !== '/login' ? from : '/'} replace />;

  const onFinish = async (v: LoginForm) => {
    setBusy(true);
    setError(null);
    try {
      await login(v.tenant.trim(), v.username.trim(), v.password);
      navigate(from && from !== '/login' ? from : '/', { replace: true });
    } catch (e) {
      const title = isApiError(e) && e.status === 429 ? t('login.rateLimited') : t('login.failed');
      setError({ title, text: problemText(e, t) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-bg">
      <div style={{ position: 'fixed', top: 12, right: 12 }}>
        <LangSwitch dark />
      </div>
      <div style={{ width: '100%', maxWidth: 400 }}>
        <div style={{ textAlign: 'center', color: '#fff', marginBottom: 24 }}>
          <img src="/favicon.svg" alt="" width={48} height={48} />
          <div style={{ fontSize: 26, fontWeight: 600, marginTop: 8 }}>
            Stride <span style={{ fontWeight: 400, opacity: 0.85 }}>{t('app.tagline')}</span>
          </div>
          <div style={{ opacity: 0.65, marginTop: 4 }}>{t('app.slogan')}</div>
        </div>
        <Card variant="borderless" style={{ boxShadow: '0 12px 40px rgba(0,0,0,0.25)' }}>
          <Typography.Title level={4} style={{ marginTop: 0, marginBottom: 20 }}>
            {t('login.welcome')}
          </Typography.Title>
          {error && <Alert type="error" showIcon title={error.title} description={error.text} style={{ marginBottom: 16 }} data-testid="login-error" />}
          <Form<LoginForm> layout="vertical" requiredMark={false} initialValues={{ tenant: lastTenant }} onFinish={onFinish} size="large">
            <Form.Item name="tenant" label={t('login.tenant')} tooltip={t('login.tenantHelp')} rules={[{ required: true, whitespace: true, message: t('login.tenantRequired') }]}>
              <Input prefix={<ShopOutlined />} autoComplete="organization" id="login-tenant" />
            </Form.Item>
            <Form.Item name="username" label={t('login.username')} rules={[{ required: true, whitespace: true, message: t('login.usernameRequired') }]}>
              <Input prefix={<UserOutlined />} autoComplete="username" autoFocus id="login-username" />
            </Form.Item>
            <Form.Item name="password" label={t('login.password')} rules={[{ required: true, message: t('login.passwordRequired') }]}>
              <Input.Password prefix={<LockOutlined />} autoComplete="current-password" id="login-password" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block loading={busy}>
              {t('login.submit')}
            </Button>
          </Form>
        </Card>
        <div style={{ textAlign: 'center', color: 'rgba(255,255,255,0.45)', marginTop: 16, fontSize: 12 }}>{t('login.footer')}</div>
      </div>
    </div>
  );
}
