from .common import F

T = "limit"

F("limit-overview", "小蚁钱包有哪些限额",
  ["限额汇总", "各种额度上限", "转账提现付款限额是多少", "每天最多能用多少钱", "限额规则"],
  "主要限额:转到小蚁钱包账户单笔 5 万、单日 20 万;转到银行卡和提现均为单笔 5 万、单日 10 万;余额支付受实名等级年累计限额约束(标准认证 10 万、高级认证 20 万);银行卡支付以银行限额为准;小额免密单笔最高 1000 元、每日 2000 元。",
  tags=[T, "overview"], trig=["e:limit_reached:4", "s:transfer:1", "s:payment:1"], fu=["limit-balance-annual", "limit-card-bank", "transfer-limit"])

F("limit-balance-annual", "余额支付年累计限额是多少",
  ["余额年限额", "余额付款额度用完了", "提示余额支付超过年度限额", "余额一年能花多少", "年累计限额怎么提高"],
  "余额支付(含余额付款和余额转账)按实名等级有年累计限额:基础认证自开户起累计 1000 元,标准认证(身份证+银行卡)每年 10 万元,高级认证(再加人脸和证件照)每年 20 万元,每年 1 月 1 日重置。用银行卡付款不受此限制。",
  tags=[T, "balance"], trig=["e:limit_reached:5", "s:payment:1"], fu=["identity-upgrade-level", "limit-overview"])

F("limit-card-bank", "银行卡限额太低付不了大额怎么办",
  ["银行卡额度不够", "大额付款被限额", "提示超过银行限额", "银行卡单笔限额低", "怎么提高银行卡支付限额"],
  "快捷支付限额由发卡银行设置,可通过手机银行或银行客服提高“第三方快捷支付限额”。也可以先把钱充值到余额再付款,或分笔支付、换用其他银行卡。",
  soo="抱歉大额付款受阻让您着急了。银行卡限额是银行设的,您可以在手机银行里调高“第三方快捷支付限额”;着急的话,先充到余额再付,或换张卡、分几笔付。",
  tags=[T, "card"], trig=["e:limit_reached:4", "e:payment_failed:3", "s:card:1"], fu=["card-limit", "balance-recharge"])

F("limit-reached-today", "提示今日额度已用完怎么办",
  ["今天超限额了", "当日额度用完", "今日转账额度已满", "超过当日限额", "明天额度会恢复吗"],
  "单日限额在每天 0 点重置,次日即可继续使用。如今天急需付款,可改用银行卡付款(受银行限额约束)或蚁花;转账急需的,可通过银行办理。",
  rea="别担心,单日额度每天 0 点就会恢复,明天就能继续用。今天着急的话,可以换银行卡或蚁花付款。",
  tags=[T, "daily"], trig=["e:limit_reached:6", "s:transfer:1"], fu=["limit-overview", "transfer-large-limit-raise"])

F("limit-paylater-single", "蚁花单笔能付多少钱",
  ["蚁花单笔限额", "蚁花付款上限", "蚁花一次能花多少", "蚁花大额付款", "蚁花额度够但付不了"],
  "蚁花单笔付款上限为可用额度,但部分商家或类目(如数码、奢侈品、充值类)会设置单笔不超过 5000 元等限制,以收银台提示为准。超出时可组合使用余额或银行卡。",
  tags=[T, "paylater"], trig=["e:limit_reached:3", "e:payment_failed:2", "s:paylater:1"], fu=["paylater-cannot-pay", "paylater-limit"])

F("limit-new-account", "新注册的账户为什么有很多限制",
  ["新账户限额低", "刚注册不能转账", "新号功能受限", "新用户限制转账", "新账户要多久解除限制"],
  "新注册且未完成实名认证的账户只能收款和查看,不能付款、转账、提现;完成基础认证后余额支付累计 1000 元。完成“身份证+银行卡”标准认证即可正常使用,新账户首月向陌生人转账还会有额外的安全验证。",
  tags=[T, "account"], trig=["s:home:1", "e:limit_reached:2"], fu=["account-realname-how", "identity-upgrade-level"])

F("limit-receive", "收款有限额吗",
  ["一天能收多少钱", "收转账有上限吗", "别人转给我大额能收到吗", "收款额度限制", "收钱上限"],
  "收到小蚁钱包转账没有单日上限,但转入余额后余额支付仍受实名等级年累计限额约束;个人收钱码用于经营收款有单日 10 万元的上限。大额收款建议直接收到银行卡。",
  tags=[T, "receive"], trig=["s:transfer:1", "s:merchant:1"], fu=["merchant-limit", "limit-balance-annual"])

F("limit-minor", "未成年人的账户有什么限额",
  ["未成年限额", "学生账户限额", "小孩用小蚁钱包能花多少", "未满18岁消费限制", "青少年账户额度"],
  "未满 18 周岁用户单笔付款最高 500 元、单日累计 1000 元,不能开通蚁花和蚁借,不能向陌生人转账,游戏、直播打赏等类目单日不超过 50 元。监护人可在“亲子账户”中进一步调低。",
  tags=[T, "minor"], trig=["s:payment:1", "e:limit_reached:2"], fu=["identity-minor", "identity-parent-control"])
